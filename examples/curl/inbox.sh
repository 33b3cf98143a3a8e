#!/usr/bin/env bash
# The 1177 inbox through mockplatform with nothing but bash and curl: the admin API (reset, journal, inbox,
# faults) and both operations (IsActiveUser, AddMessageToPatientPortalInbox), each answer checked.
#
#   usage: examples/curl/inbox.sh PLATFORM_URL     e.g. http://127.0.0.1:8080 (or the .../vp URL serve prints)
#
# It starts with POST /admin/reset (an empty journal, inbox and fault list): point it at a platform you test
# with. Exit 0 when every answer was as expected; 1 at the first that was not (it says which, and shows it).
set -euo pipefail

url=${1:?usage: $0 PLATFORM_URL (e.g. http://127.0.0.1:8080)}
url=${url%/}
url=${url%/vp}
vp=$url/vp
inbox=SE5565594230-1177        # LogicalAddress: the inbox producer system, not your care unit
consumer=SE2321000016-7XQA     # your HSA-id (x-vp-sender-id over plain HTTP) and here also your 1177 system-id
citizen=191212121212           # active, notified by SMS and Email
inactive=199002272392
unit=SE2321000016-A1B2         # connected to 1177's e-services
add=AddMessageToPatientPortalInbox

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0

fail() {
  echo "FAILED: $1" >&2
  echo "--- the answer (HTTP $status):" >&2
  cat "$out" >&2
  echo >&2
  exit 1
}

# request METHOD PATH [curl options...]: the body goes to $out, the HTTP status to $status
request() {
  local method=$1 path=$2
  shift 2
  status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$url$path" "$@")
}

expect_status() { [ "$status" = "$1" ] || fail "$2: HTTP $1 expected"; }
expect_text() { grep -Eq -- "$1" "$out" || fail "$2: the answer should match /$1/"; }

# soap CONTRACT BODY: a RIVTA BP 2.1 call, LogicalAddress in the SOAP header
soap() {
  request POST /vp -H 'Content-Type: text/xml; charset=UTF-8' -H "x-vp-sender-id: $consumer" --data-binary @- <<EOF
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Header>
    <LogicalAddress xmlns="urn:riv:itintegration:registry:1">$inbox</LogicalAddress>
  </soapenv:Header>
  <soapenv:Body>$2</soapenv:Body>
</soapenv:Envelope>
EOF
}

is_active_user() {
  soap IsActiveUser "
    <IsActiveUser xmlns=\"urn:riv:infrastructure:eservicesupply:patientportal:IsActiveUserResponder:1\">
      <subjectOfCareId>$1</subjectOfCareId>
    </IsActiveUser>"
}

# add_message CITIZEN THREAD: a plain-text message that keeps the 1177 rules (sourceSystem, a connected unit,
# a messageDescription); message children are in the patientportal core namespace, the rest in the responder's
add_message() {
  soap $add "
    <AddMessageToPatientPortalInbox
        xmlns=\"urn:riv:infrastructure:eservicesupply:patientportal:AddMessageToPatientPortalInboxResponder:1\"
        xmlns:pp=\"urn:riv:infrastructure:eservicesupply:patientportal:1\">
      <subjectOfCareId>$1</subjectOfCareId>
      <message>
        <pp:organisationUnit><pp:unitId>$unit</pp:unitId><pp:unitName>Vårdcentralen Exempelby</pp:unitName></pp:organisationUnit>
        <pp:messageThreadId>$2</pp:messageThreadId>
        <pp:messageDescription>Kallelse till provtagning</pp:messageDescription>
        <pp:messageText>Välkommen till provtagning tisdag kl. 08.30.</pp:messageText>
      </message>
      <notify>true</notify>
      <sourceSystem>$consumer</sourceSystem>
    </AddMessageToPatientPortalInbox>"
}

# inject KIND [TEXT]: one fault for the next AddMessage call
inject() {
  request POST /admin/faults -H 'Content-Type: application/json' \
    -d "{\"kind\": \"$1\", \"contract\": \"$add\", \"count\": 1, \"text\": \"${2:-}\"}"
  expect_status 201 "POST /admin/faults ($1)"
  expect_text "\"kind\": *\"$1\"" "POST /admin/faults ($1)"
}

echo "== admin API: what there is, and a new test run"
request GET /admin/
expect_status 200 "GET /admin/"
expect_text '"/admin/journal"' "GET /admin/ lists the journal"
request POST /admin/reset
expect_status 200 "POST /admin/reset"
expect_text '"reset_at"' "POST /admin/reset"

echo "== IsActiveUser $citizen: status true"
is_active_user $citizen
expect_status 200 "IsActiveUser $citizen"
expect_text '<([[:alnum:]]+:)?status>true</' "IsActiveUser $citizen: status true"
echo "== IsActiveUser $inactive: status false"
is_active_user $inactive
expect_status 200 "IsActiveUser $inactive"
expect_text '<([[:alnum:]]+:)?status>false</' "IsActiveUser $inactive: status false"

echo "== AddMessageToPatientPortalInbox: resultCode OK, the citizen notified"
add_message $citizen curl-thread-1
expect_status 200 "AddMessage"
expect_text '<([[:alnum:]]+:)?resultCode>OK</' "AddMessage: resultCode OK"
expect_text '<([[:alnum:]]+:)?messageThreadId>curl-thread-1</' "AddMessage: messageThreadId echoed"
expect_text '<([[:alnum:]]+:)?notificationSent>SMS</' "AddMessage: the citizen notified by SMS"

echo "== the inbox as the fake 1177 holds it"
request GET /admin/inbox/$citizen
expect_status 200 "GET /admin/inbox/$citizen"
expect_text '"description": *"Kallelse till provtagning"' "the message is in the citizen's inbox"
expect_text '"unread": *true' "the message is unread"

echo "== the journal: three calls, all HTTP 200 without a VP fault"
request GET "/admin/journal?consumer=$consumer"
expect_status 200 "GET /admin/journal"
expect_text '"count": *3' "the journal holds the three calls"
grep -Eq '"vp_code": *"VP' "$out" && fail "no call got a VP fault"

echo "== an injected logical error: resultCode ERROR with the injected text (not to be retried)"
inject logical_error "Injected by curl example"
add_message $citizen curl-thread-2
expect_status 200 "AddMessage with logical_error injected"
expect_text '<([[:alnum:]]+:)?resultCode>ERROR</' "AddMessage: resultCode ERROR"
expect_text 'Injected by curl example' "AddMessage: the injected resultText"

echo "== an injected producer HTTP 500: VP009 (a technical fault: retry after 4 s)"
inject http_500
add_message $citizen curl-thread-3
expect_status 500 "AddMessage with http_500 injected: HTTP 500"
expect_text '<faultstring>VP009 ' "AddMessage with http_500 injected: VP009"
request GET "/admin/journal?contract=$add"
expect_text '"vp_code": *"VP009"' "the journal shows the VP009"

echo "== the faults: each used once, none left; clear them anyway"
request GET /admin/faults
expect_status 200 "GET /admin/faults"
expect_text '"faults": *\[ *\]' "no fault left in force"
request DELETE /admin/faults
expect_status 200 "DELETE /admin/faults"

echo "curl example: every answer as expected"
