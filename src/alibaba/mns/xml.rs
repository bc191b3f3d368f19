//! The XML MNS speaks, read with quick-xml and serde: lenient (unknown elements ignored,
//! namespace or not, compact or indented, CDATA and entity-escaped text), and written only
//! for the one request body this crate sends (BatchDeleteMessage's handle list).

use serde::Deserialize;

/// The namespace of every MNS document.
pub const NAMESPACE: &str = "http://mns.aliyuncs.com/doc/v1/";

/// One message of a (Batch)ReceiveMessage answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct ReceivedMessage {
    /// Unique within the queue: the dedupe key.
    pub message_id: String,
    /// What deletes this delivery, or changes its visibility, until `next_visible_time`.
    pub receipt_handle: String,
    /// The body as stored (entities and CDATA already resolved).
    #[serde(default)]
    pub message_body: String,
    /// Hex MD5 of the body, as the service computed it.
    #[serde(rename = "MessageBodyMD5", default)]
    pub message_body_md5: Option<String>,
    /// When the message was sent, in ms since the epoch.
    #[serde(default)]
    pub enqueue_time: Option<u64>,
    /// When the message becomes visible again, in ms since the epoch (server clock).
    pub next_visible_time: u64,
    /// When the message was first received, in ms since the epoch.
    #[serde(default)]
    pub first_dequeue_time: Option<u64>,
    /// How many times it was received, this time included.
    #[serde(default)]
    pub dequeue_count: Option<u32>,
    /// The message priority (1 highest to 16).
    #[serde(default)]
    pub priority: Option<u32>,
}

#[derive(Deserialize)]
struct Messages {
    #[serde(rename = "Message", default)]
    message: Vec<ReceivedMessage>,
}

/// The answer of ChangeMessageVisibility: the new handle (the old one is dead) and when the
/// message becomes visible again.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct VisibilityChanged {
    /// The handle to use from now on.
    pub receipt_handle: String,
    /// When the message becomes visible again, in ms since the epoch (server clock).
    pub next_visible_time: u64,
}

/// The `<Error>` body of a refused request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The error code, e.g. `MessageNotExist`.
    pub code: String,
    /// The service's message.
    pub message: String,
    /// The request id to quote to support.
    pub request_id: String,
    /// The host that answered.
    pub host_id: String,
}

/// One failed handle of a BatchDeleteMessage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct DeleteFailure {
    /// The error code, e.g. `ReceiptHandleError`.
    pub error_code: String,
    /// The service's message.
    pub error_message: String,
    /// The handle it is about.
    pub receipt_handle: String,
}

#[derive(Deserialize)]
struct Errors {
    #[serde(rename = "Error", default)]
    error: Vec<DeleteFailure>,
}

/// Why a document could not be read.
pub type XmlError = quick_xml::DeError;

/// Reads a (Batch)ReceiveMessage answer: `<Messages>` of `<Message>`, or one `<Message>`.
pub fn parse_messages(xml: &str) -> Result<Vec<ReceivedMessage>, XmlError> {
    match root_name(xml).as_deref() {
        Some("Message") => Ok(vec![quick_xml::de::from_str(xml)?]),
        _ => Ok(quick_xml::de::from_str::<Messages>(xml)?.message),
    }
}

/// Reads a ChangeMessageVisibility answer.
pub fn parse_visibility(xml: &str) -> Result<VisibilityChanged, XmlError> {
    quick_xml::de::from_str(xml)
}

/// Reads an `<Error>` body.
pub fn parse_error(xml: &str) -> Result<ErrorBody, XmlError> {
    quick_xml::de::from_str(xml)
}

/// Reads the `<Errors>` body of a partly failed BatchDeleteMessage; `None` if the body is
/// something else (an `<Error>` about the whole request).
pub fn parse_delete_failures(xml: &str) -> Option<Vec<DeleteFailure>> {
    if root_name(xml).as_deref() != Some("Errors") {
        return None;
    }
    quick_xml::de::from_str::<Errors>(xml).ok().map(|e| e.error)
}

/// The local name of the root element, skipping the declaration, comments and whitespace.
pub fn root_name(xml: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                return Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The BatchDeleteMessage request body for `handles`, escaped.
pub fn receipt_handles_body(handles: &[&str]) -> String {
    let mut body =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><ReceiptHandles xmlns="{NAMESPACE}">"#);
    for handle in handles {
        body.push_str("<ReceiptHandle>");
        body.push_str(&quick_xml::escape::escape(*handle));
        body.push_str("</ReceiptHandle>");
    }
    body.push_str("</ReceiptHandles>");
    body
}

/// Reads a BatchDeleteMessage request body (for the fake and for tests).
pub fn parse_receipt_handles(xml: &str) -> Result<Vec<String>, XmlError> {
    #[derive(Deserialize)]
    struct Handles {
        #[serde(rename = "ReceiptHandle", default)]
        receipt_handle: Vec<String>,
    }
    Ok(quick_xml::de::from_str::<Handles>(xml)?.receipt_handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDENTED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Messages xmlns="http://mns.aliyuncs.com/doc/v1/">
  <Message>
    <MessageId>5F290C926D472878-2-14D9529A8FA-200000001</MessageId>
    <ReceiptHandle>1-ODU4OTkzNDU5My0xNDM1MTk3NjAwLTItNg==</ReceiptHandle>
    <MessageBodyMD5>C5DD56A39F5F7BB8B3337C6D11B6D8C7</MessageBodyMD5>
    <MessageBody>{&quot;EventType&quot;:&quot;FileUploadComplete&quot;,&quot;Size&quot;:1 &lt; 2}</MessageBody>
    <EnqueueTime>1250700979248</EnqueueTime>
    <NextVisibleTime>1250700799348</NextVisibleTime>
    <FirstDequeueTime>1250700779318</FirstDequeueTime>
    <DequeueCount>1</DequeueCount>
    <Priority>8</Priority>
    <MessageGroupId>g</MessageGroupId>
    <UserProperties><Property><Name>a</Name></Property></UserProperties>
  </Message>
  <Message><MessageId>2</MessageId><ReceiptHandle>h2</ReceiptHandle><MessageBody><![CDATA[{"a":"<b>"}]]></MessageBody><NextVisibleTime>5</NextVisibleTime><DequeueCount>3</DequeueCount></Message>
</Messages>"#;

    #[test]
    fn batch_receive_answers_with_entities_cdata_and_unknown_elements() {
        let got = parse_messages(INDENTED).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].message_body,
            r#"{"EventType":"FileUploadComplete","Size":1 < 2}"#
        );
        assert_eq!(got[0].dequeue_count, Some(1));
        assert_eq!(got[0].next_visible_time, 1250700799348);
        assert_eq!(got[0].priority, Some(8));
        assert_eq!(got[1].message_body, r#"{"a":"<b>"}"#);
        assert_eq!(got[1].receipt_handle, "h2");
        assert_eq!(got[1].enqueue_time, None);
    }

    #[test]
    fn a_single_message_root_and_no_namespace_are_read_too() {
        let xml = "<Message><MessageId>1</MessageId><ReceiptHandle>h</ReceiptHandle><MessageBody>{}</MessageBody><NextVisibleTime>9</NextVisibleTime></Message>";
        let got = parse_messages(xml).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message_id, "1");
    }

    #[test]
    fn a_message_without_a_handle_is_an_error_not_a_default() {
        let xml = "<Messages><Message><MessageId>1</MessageId><NextVisibleTime>9</NextVisibleTime></Message></Messages>";
        assert!(parse_messages(xml).is_err());
        assert!(parse_messages("<Messages><Message><MessageId>1</Mess").is_err());
    }

    #[test]
    fn error_and_delete_failure_bodies() {
        let xml = r#"<?xml version="1.0"?><Error xmlns="http://mns.aliyuncs.com/doc/v1/"><Code>MessageNotExist</Code><Message>Message not exist.</Message><RequestId>R1</RequestId><HostId>http://h</HostId></Error>"#;
        let e = parse_error(xml).unwrap();
        assert_eq!(
            (e.code.as_str(), e.request_id.as_str(), e.host_id.as_str()),
            ("MessageNotExist", "R1", "http://h")
        );
        assert_eq!(parse_delete_failures(xml), None);
        let errors = r#"<Errors xmlns="http://mns.aliyuncs.com/doc/v1/"><Error><ErrorCode>ReceiptHandleError</ErrorCode><ErrorMessage>bad</ErrorMessage><ReceiptHandle>a+b</ReceiptHandle></Error><Error><ErrorCode>MessageNotExist</ErrorCode><ReceiptHandle>c</ReceiptHandle></Error></Errors>"#;
        let f = parse_delete_failures(errors).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].receipt_handle, "a+b");
        assert_eq!(f[1].error_code, "MessageNotExist");
        assert_eq!(f[1].error_message, "");
    }

    #[test]
    fn visibility_answer() {
        let v = parse_visibility("<ChangeVisibility><ReceiptHandle>new</ReceiptHandle><NextVisibleTime>77</NextVisibleTime></ChangeVisibility>").unwrap();
        assert_eq!(v.receipt_handle, "new");
        assert_eq!(v.next_visible_time, 77);
    }

    #[test]
    fn receipt_handles_round_trip_with_escaping() {
        let body = receipt_handles_body(&["1-a+b/c==", "x<&>y"]);
        assert!(body.contains("x&lt;&amp;&gt;y"), "{body}");
        assert_eq!(
            parse_receipt_handles(&body).unwrap(),
            ["1-a+b/c==", "x<&>y"]
        );
    }
}
