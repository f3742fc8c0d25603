// Keeps a token for the tab's lifetime only (sessionStorage): closing the tab logs out,
// and the token is never written to a cookie the browser would send by itself.

export function tokenStore(key) {
  return {
    load: () => sessionStorage.getItem(key),
    save: (token) => sessionStorage.setItem(key, token),
    clear: () => sessionStorage.removeItem(key),
  };
}
