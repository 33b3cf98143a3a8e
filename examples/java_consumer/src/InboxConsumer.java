import java.net.URI;
import java.net.URL;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import javax.xml.ws.BindingProvider;
import javax.xml.ws.handler.MessageContext;

import riv.infrastructure.eservicesupply.patientportal._1.MessageType;
import riv.infrastructure.eservicesupply.patientportal._1.NotificationMethodType;
import riv.infrastructure.eservicesupply.patientportal._1.OrganisationUnitIdType;
import riv.infrastructure.eservicesupply.patientportal._1.OrganisationUnitType;
import riv.infrastructure.eservicesupply.patientportal._1.ResultCodeEnum;
import riv.infrastructure.eservicesupply.patientportal.addmessagetopatientportalinbox._1.rivtabp21.AddMessageToPatientPortalInboxResponderInterface;
import riv.infrastructure.eservicesupply.patientportal.addmessagetopatientportalinbox._1.rivtabp21.AddMessageToPatientPortalInboxResponderService;
import riv.infrastructure.eservicesupply.patientportal.addmessagetopatientportalinboxresponder._1.AddMessageToPatientPortalInboxResponseType;
import riv.infrastructure.eservicesupply.patientportal.addmessagetopatientportalinboxresponder._1.AddMessageToPatientPortalInboxType;
import riv.infrastructure.eservicesupply.patientportal.isactiveuser._1.rivtabp21.IsActiveUserResponderInterface;
import riv.infrastructure.eservicesupply.patientportal.isactiveuser._1.rivtabp21.IsActiveUserResponderService;
import riv.infrastructure.eservicesupply.patientportal.isactiveuserresponder._1.IsActiveUserResponseType;
import riv.infrastructure.eservicesupply.patientportal.isactiveuserresponder._1.IsActiveUserType;

/**
 * A 1177 inbox consumer in Java, on a JAX-WS client that wsimport generated from the WSDLs mockplatform serves.
 *
 * <p>It asks IsActiveUser whether the citizen uses the inbox, sends one plain-text message with
 * AddMessageToPatientPortalInbox, checks both answers, and then asks the platform's admin API whether both calls
 * are in its journal, answered with HTTP 200 and no VP fault. Any answer it does not expect ends it with exit 1.
 *
 * <p>Usage: {@code java -cp build/classes:/usr/share/java/jaxws-rt.jar InboxConsumer http://127.0.0.1:8080}
 * (the {@code .../vp} URL {@code mockplatform serve} prints works too). {@code run.sh} generates, compiles and runs it.
 */
public final class InboxConsumer {
    /** The LogicalAddress header: the inbox producer system's HSA-id, not our own care unit. */
    static final String INBOX_LOGICAL_ADDRESS = "SE5565594230-1177";
    /** Our consumer HSA-id. Over plain HTTP it is the x-vp-sender-id header; over TLS, our certificate's SERIALNUMBER. */
    static final String CONSUMER_HSA_ID = "SE2321000016-7XQA";
    /** The system-id 1177 issued to us: sourceSystem. */
    static final String SYSTEM_ID = "SE2321000016-7XQA";
    static final String CITIZEN = "191212121212";
    static final String UNIT_ID = "SE2321000016-A1B2";  // a unit connected to 1177's e-services
    static final String WSDL = "/vp/infrastructure/eservicesupply/patientportal/%s/1/rivtabp21?wsdl";

    private static final List<String> failures = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: InboxConsumer <platform URL, e.g. http://127.0.0.1:8080>");
            System.exit(2);
        }
        String base = args[0].replaceAll("/+$", "").replaceAll("/vp$", "");

        // 1. IsActiveUser: send only to a citizen who uses the inbox.
        IsActiveUserResponderInterface isActiveUser =
                new IsActiveUserResponderService(new URL(base + String.format(WSDL, "IsActiveUser")))
                        .getIsActiveUserResponderPort();
        prepare(isActiveUser);
        IsActiveUserType question = new IsActiveUserType();
        question.setSubjectOfCareId(CITIZEN);
        // The LogicalAddress header part of the WSDL's input message is the first parameter.
        IsActiveUserResponseType active = isActiveUser.isActiveUser(INBOX_LOGICAL_ADDRESS, question);
        String isActiveCorrelation = correlationId(isActiveUser);
        System.out.printf("IsActiveUser %s: status=%s, activeNotificationMethods=%s (x-skltp-correlation-id %s)%n",
                CITIZEN, active.isStatus(), active.getActiveNotificationMethods(), isActiveCorrelation);
        expect(active.isStatus(), "IsActiveUser status is true for " + CITIZEN);
        if (!active.isStatus()) {
            finish();
        }

        // 2. AddMessageToPatientPortalInbox: one plain-text message, notify the citizen.
        AddMessageToPatientPortalInboxResponderInterface addMessage =
                new AddMessageToPatientPortalInboxResponderService(
                        new URL(base + String.format(WSDL, "AddMessageToPatientPortalInbox")))
                        .getAddMessageToPatientPortalInboxResponderPort();
        prepare(addMessage);
        OrganisationUnitIdType unitId = new OrganisationUnitIdType();
        unitId.setValue(UNIT_ID);
        OrganisationUnitType unit = new OrganisationUnitType();
        unit.setUnitId(unitId);
        unit.setUnitName("Vårdcentralen Exempelby");
        String thread = "java-example-" + System.currentTimeMillis();
        MessageType message = new MessageType();
        message.setOrganisationUnit(unit);
        message.setMessageThreadId(thread);
        message.setMessageDescription("Kallelse till provtagning");
        message.setMessageText("Välkommen till provtagning på Vårdcentralen Exempelby tisdag kl. 08.30.");
        AddMessageToPatientPortalInboxType request = new AddMessageToPatientPortalInboxType();
        request.setSubjectOfCareId(CITIZEN);
        request.setMessage(message);
        request.setNotify(true);
        request.setSourceSystem(SYSTEM_ID);  // required with notify=true
        AddMessageToPatientPortalInboxResponseType added = addMessage.addMessageToPatientPortalInbox(
                INBOX_LOGICAL_ADDRESS, request);
        String addCorrelation = correlationId(addMessage);
        System.out.printf("AddMessageToPatientPortalInbox: resultCode=%s, resultText=%s, messageThreadId=%s, "
                        + "notificationSent=%s (x-skltp-correlation-id %s)%n", added.getResultCode(),
                added.getResultText(), added.getMessageThreadId(), added.getNotificationSent(), addCorrelation);
        expect(added.getResultCode() == ResultCodeEnum.OK, "AddMessage resultCode is OK");
        expect(thread.equals(added.getMessageThreadId()), "AddMessage echoes messageThreadId " + thread);
        expect(added.getNotificationSent().contains(NotificationMethodType.SMS),
                "the citizen was notified by SMS (notify=true, sourceSystem given)");

        // 3. The platform's journal, over its admin API: both calls there, answered 200 without a VP fault.
        checkJournal(base, "IsActiveUser", isActiveCorrelation);
        checkJournal(base, "AddMessageToPatientPortalInbox", addCorrelation);
        finish();
    }

    /** Our HSA-id as an HTTP header (mockplatform over plain HTTP), and timeouts. */
    private static void prepare(Object port) {
        Map<String, Object> context = ((BindingProvider) port).getRequestContext();
        context.put(MessageContext.HTTP_REQUEST_HEADERS, Map.of("x-vp-sender-id", List.of(CONSUMER_HSA_ID)));
        // The endpoint is the WSDL's soap:address; against NTjP, set it to the platform's URL instead:
        // context.put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, "https://.../vp/...");
        context.put("com.sun.xml.ws.connect.timeout", 10_000);
        context.put("com.sun.xml.ws.request.timeout", 60_000);  // over NTjP's 29 s producer timeout
    }

    /** The correlation id the platform answered with: quote it when you ask about a call. */
    private static String correlationId(Object port) {
        Object headers = ((BindingProvider) port).getResponseContext().get(MessageContext.HTTP_RESPONSE_HEADERS);
        if (headers instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (e.getKey() instanceof String name && name.equalsIgnoreCase("x-skltp-correlation-id")
                        && e.getValue() instanceof List<?> values && !values.isEmpty()) {
                    return String.valueOf(values.get(0));
                }
            }
        }
        expect(false, "the answer has an x-skltp-correlation-id header");
        return null;
    }

    private static void checkJournal(String base, String contract, String correlationId) throws Exception {
        if (correlationId == null) {
            return;
        }
        String url = base + "/admin/journal?correlation_id=" + URLEncoder.encode(correlationId, StandardCharsets.UTF_8);
        HttpResponse<String> answer = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        String json = answer.body();
        // Plain pattern checks keep the example free of a JSON library.
        boolean ok = answer.statusCode() == 200 && has(json, "\"count\"\\s*:\\s*1\\b")
                && has(json, "\"contract\"\\s*:\\s*\"[^\"]*" + contract + "Responder:1\"")
                && has(json, "\"http_status\"\\s*:\\s*200\\b") && has(json, "\"vp_code\"\\s*:\\s*null");
        System.out.printf("journal %s %s: %s%n", contract, correlationId, ok ? "HTTP 200, no VP fault" : json);
        expect(ok, "the journal holds the " + contract + " call, HTTP 200, no VP fault");
    }

    private static boolean has(String text, String regex) {
        return Pattern.compile(regex).matcher(text).find();
    }

    private static void expect(boolean condition, String what) {
        if (!condition) {
            failures.add(what);
            System.out.println("FAILED: " + what);
        }
    }

    private static void finish() {
        if (failures.isEmpty()) {
            System.out.println("java consumer: all checks passed");
            System.exit(0);
        }
        System.out.println("java consumer: " + failures.size() + " check(s) failed: " + failures);
        System.exit(1);
    }
}
