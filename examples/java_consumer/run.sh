#!/usr/bin/env bash
# The Java consumer example against a running mockplatform: generate a JAX-WS client with wsimport from the WSDLs
# the platform serves, compile it and InboxConsumer.java with javac, run it, then judge its calls with
# `mockplatform verify`. It starts nothing itself.
#
#   usage: examples/java_consumer/run.sh PLATFORM_URL     e.g. http://127.0.0.1:8080 (or the .../vp URL serve prints)
#
# Needs Java 8+ (17 on Debian 12) and JAX-WS: `apt-get install default-jdk-headless jaxws` (wsimport, and the
# runtime in /usr/share/java/jaxws-rt.jar; elsewhere set JAXWS_CP to the JAX-WS RI jars). Writes into
# $BUILD_DIR (default: build/ beside this script). Exit 0 only when every check passed.
set -euo pipefail

url=${1:?usage: $0 PLATFORM_URL (e.g. http://127.0.0.1:8080)}
url=${url%/}
url=${url%/vp}
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$here/build}
jaxws_cp=${JAXWS_CP:-/usr/share/java/jaxws-rt.jar}
consumer=SE2321000016-7XQA

for tool in wsimport javac java; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run.sh: $tool not found; on Debian/Ubuntu: apt-get install default-jdk-headless jaxws" >&2
    exit 2
  fi
done

rm -rf "$build"
mkdir -p "$build/generated" "$build/classes"

# 1. The client, from the served WSDLs (their schema imports point back at the platform). One wsimport run per
#    WSDL: both import the shared schemas (itintegration registry, patientportal core) under their own URLs, and
#    one run over both would see every shared type defined twice. The header part LogicalAddress of the input
#    message becomes the operation's first parameter (no -XadditionalHeaders needed).
for contract in IsActiveUser AddMessageToPatientPortalInbox; do
  wsimport -quiet -keep -Xnocompile -encoding UTF-8 -s "$build/generated" -d "$build/generated" \
    "$url/vp/infrastructure/eservicesupply/patientportal/$contract/1/rivtabp21?wsdl"
done

# 2. Compile the generated client and the consumer.
find "$build/generated" "$here/src" -name '*.java' >"$build/sources.txt"
javac -nowarn -encoding UTF-8 -cp "$jaxws_cp" -d "$build/classes" @"$build/sources.txt"

# 3. Run it: both operations, their answers, and the platform's journal over the admin API.
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
#    (The SAAJ property only silences a deprecation warning of Debian's SAAJ 1.4 at every start.)
java -Dfile.encoding=UTF-8 -Djavax.xml.soap.SAAJMetaFactory=com.sun.xml.messaging.saaj.soap.SAAJMetaFactoryImpl \
  -cp "$build/classes:$jaxws_cp" InboxConsumer "$url"

# 4. Judge the calls against the contract rules, as for the test protocol (if this machine can read the journal).
#    The command: $MOCKPLATFORM, else mockplatform on PATH, else the clone's .venv/bin/mockplatform.
mockplatform=${MOCKPLATFORM:-$(command -v mockplatform || true)}
if [ -z "$mockplatform" ] && [ -x "$here/../../.venv/bin/mockplatform" ]; then
  mockplatform=$here/../../.venv/bin/mockplatform
fi
journal=$(curl -fsS "$url/status" 2>/dev/null | sed -n 's/^ *"JournalPath": *"\(.*\)",\{0,1\}$/\1/p' || true)
# A team's platform keeps its journal in PostgreSQL: /status names the database (its password left out: set
# MOCKPLATFORM_DATABASE to the full URL when it has one, and it is used instead).
case "$journal" in
  postgresql://*|postgres://*) journal=${MOCKPLATFORM_DATABASE:-$journal}; readable=yes ;;
  *) if [ -n "$journal" ] && [ -r "$journal" ]; then readable=yes; else readable=no; fi ;;
esac
if [ -n "$mockplatform" ] && [ "$readable" = yes ]; then
  # --allow-not-run: two calls cannot run every test case; exit 0 means no case failed and no error rule broke.
  "$mockplatform" verify --journal "$journal" --since "$started" --consumer "$consumer" --system-id "$consumer" \
    --allow-not-run --out "$build/protocol"
  echo "java consumer: verify found no error in the calls since $started (protocol: $build/protocol)"
else
  echo "java consumer: verify not run (needs the mockplatform command and the platform's journal on this machine);"
  echo "  mockplatform verify --journal <journal> --since $started --consumer $consumer --allow-not-run"
fi
