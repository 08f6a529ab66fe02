-- Runs once, when the postgres service starts on an empty volume (docker-entrypoint-initdb.d):
-- LiteLLM keeps its keys and spend logs in its own database, apart from the Solaris ledger.
CREATE DATABASE litellm;
