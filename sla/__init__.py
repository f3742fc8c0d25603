"""Service levels: policies per team x channel, measurement, breach detection, Erlang C."""
