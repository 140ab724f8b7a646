#!/usr/bin/env bash
# Writes the secrets docker-compose.yml reads, once: every file that is
# missing gets a fresh random value; a file that exists is left alone (so it
# is safe to run again, and a secret you replaced, such as your own
# DefectDojo's API key in dojo_token, stays yours).
#
#   deploy/compose-secrets.sh [DIR]     # DIR: WSTG_SECRETS_DIR, else ./secrets
#
# The directory is 0700 (other host users cannot reach the files) and each
# file 0644, because compose hands a file secret to the container as a bind
# mount with the host's owner and mode, and the services run as uid 10001.
# The derived secrets (Redis' ACL file, the two URLs) are written from the
# passwords in the same run, so they always agree.
set -euo pipefail

dir=${1:-${WSTG_SECRETS_DIR:-./secrets}}
mkdir -p "$dir"
chmod 0700 "$dir"

# Hex only: it goes into URLs and ACL lines without quoting.
random_hex() { # bytes
  od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

put() { # name value
  local file=$dir/$1
  if [ -s "$file" ]; then return 0; fi
  (umask 022 && printf '%s' "$2" >"$file")
  chmod 0644 "$file"
  echo "wrote $file"
}

put redis_password "$(random_hex 24)"
put postgres_password "$(random_hex 24)"
redis_password=$(cat "$dir/redis_password")
postgres_password=$(cat "$dir/postgres_password")
put redis_acl "user default on >$redis_password ~* &* +@all"
put redis_url "redis://:$redis_password@redis:6379"
put database_url "postgres://wstg:$postgres_password@postgres:5432/wstg"

put ingest_token "$(random_hex 32)"
put admin_token "$(random_hex 32)"
put webhook_key "$(random_hex 32)"
put metrics_token "$(random_hex 32)"
# DefectDojo's API v2 keys are 40 hex characters. With the defectdojo or
# demo profile this one is the key (set into DefectDojo by the dojo-token
# job); with your own DefectDojo, put its key here instead.
put dojo_token "$(random_hex 20)"

# The defectdojo profile's own secrets (unused by the other profiles).
put dd_admin_password "$(random_hex 16)"
put dd_postgres_password "$(random_hex 24)"
dd_postgres_password=$(cat "$dir/dd_postgres_password")
put dd_database_url "postgresql://defectdojo:$dd_postgres_password@dojo-postgres:5432/defectdojo"
put dd_secret_key "$(random_hex 32)"
# DefectDojo's credential key is 32 characters.
put dd_aes_key "$(random_hex 16)"
