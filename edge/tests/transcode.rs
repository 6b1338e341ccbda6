//! The transcoder, table-driven, against a small test service of its own (compiled here
//! from `TEST_PROTO`): every template shape, body mode, query mapping and JSON edge case,
//! each row a request and the message (or the 400) it must become.

use std::sync::OnceLock;

use bytes::Bytes;
use edge::{
    routes::{Resolution, Routes},
    transcode::{self, HttpInput, HttpOutput},
};
use mart_proto::contract::{Access, HttpRoute, Method};
use prost_reflect::{DescriptorPool, DynamicMessage, Value};
use serde_json::{Value as Json, json};

const TEST_PROTO: &str = r#"
syntax = "proto3";
package test.v1;
import "google/protobuf/timestamp.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/wrappers.proto";
import "google/api/httpbody.proto";

enum Colour { COLOUR_UNSPECIFIED = 0; COLOUR_RED = 1; COLOUR_GREEN = 2; }
message Inner { string id = 1; int64 count = 2; Colour colour = 3; }
message Thing {
  string thing_id = 1;
  Inner inner = 2;
  repeated string tags = 3;
  repeated int32 sizes = 4;
  Colour colour = 5;
  int64 big = 6;
  google.protobuf.Timestamp at = 7;
  google.protobuf.FieldMask mask = 8;
  google.protobuf.Int32Value limit = 9;
  bool flag = 10;
  optional string note = 11;
  map<string, string> labels = 12;
  double ratio = 13;
  bytes blob = 14;
}
message Upload { string thing_id = 1; google.api.HttpBody body = 2; }
service Things {
  rpc Get(Thing) returns (Thing);
  rpc Nested(Thing) returns (Thing);
  rpc Archive(Thing) returns (Thing);
  rpc Shelf(Thing) returns (Thing);
  rpc File(Thing) returns (Thing);
  rpc SetInner(Thing) returns (Thing);
  rpc List(Thing) returns (Thing);
  rpc Raw(google.api.HttpBody) returns (google.api.HttpBody);
  rpc UploadFile(Upload) returns (Thing);
}
"#;

/// The test service's methods with their HTTP rules, as the contract would give them.
fn routes() -> &'static Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("things.proto"), TEST_PROTO).unwrap();
        let vendored = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto");
        let files = protox::compile(["things.proto"], [dir.path().to_str().unwrap(), vendored]).unwrap();
        let pool = DescriptorPool::from_file_descriptor_set(files).unwrap();
        let service = pool.get_service_by_name("test.v1.Things").unwrap();
        let rules = [
            ("Get", "GET", "/v1/things/{thing_id}", ""),
            ("Nested", "GET", "/v1/inner/{inner.id}/things", ""),
            ("Archive", "POST", "/v1/things/{thing_id}:archive", "*"),
            ("Shelf", "GET", "/v1/{thing_id=shelves/*}", ""),
            ("File", "GET", "/v1/files/{thing_id=**}", ""),
            ("SetInner", "PUT", "/v1/things/{thing_id}/inner", "inner"),
            ("List", "GET", "/v1/things", ""),
            ("Raw", "POST", "/v1/raw", "*"),
            ("UploadFile", "POST", "/v1/things/{thing_id}/upload", "body"),
        ];
        let methods = rules.into_iter().map(|(name, verb, path, body)| {
            let descriptor = service.methods().find(|m| m.name() == name).unwrap();
            &*Box::leak(Box::new(Method {
                path: format!("/test.v1.Things/{name}"),
                descriptor,
                access: Some(Access::Public),
                http: Some(HttpRoute { verb: verb.into(), path: path.into(), body: body.into() }),
            }))
        });
        Routes::from_methods(methods.collect::<Vec<_>>()).unwrap()
    })
}

/// What `verb path?query` with `body` becomes: the method's name and the message as JSON
/// (proto3 mapping, defaults skipped), or the 400's field and message.
fn transcode(verb: &str, target: &str, body: &str) -> Result<(String, Json), (String, String)> {
    let (path, query) = target.split_once('?').map_or((target, None), |(p, q)| (p, Some(q)));
    let Resolution::Found(route, bindings) = routes().resolve(verb, path) else {
        panic!("{verb} {path} does not resolve");
    };
    let input = HttpInput { query, body: Bytes::from(body.to_owned()), content_type: Some("application/x-test") };
    match transcode::request(route, bindings, input) {
        Ok(message) => Ok((route.method.descriptor.name().to_owned(), serde_json::to_value(&message).unwrap())),
        Err(bad) => Err((bad.field, bad.message)),
    }
}

#[test]
fn templates_bodies_and_queries_become_the_right_message() {
    let cases: Vec<(&str, &str, &str, &str, Json)> = vec![
        // Path templates.
        ("GET", "/v1/things/t1", "", "Get", json!({"thingId": "t1"})),
        ("GET", "/v1/things/a%2Fb%20c", "", "Get", json!({"thingId": "a/b c"})),
        ("GET", "/v1/inner/i9/things", "", "Nested", json!({"inner": {"id": "i9"}})),
        ("POST", "/v1/things/t1:archive", "{}", "Archive", json!({"thingId": "t1"})),
        ("GET", "/v1/shelves/s1", "", "Shelf", json!({"thingId": "shelves/s1"})),
        ("GET", "/v1/files/a/b/c.txt", "", "File", json!({"thingId": "a/b/c.txt"})),
        // body "*": the body fills the message; the path variable wins over the body.
        (
            "POST",
            "/v1/things/t1:archive",
            r#"{"thingId": "evil", "tags": ["x"], "big": "12", "inner": {"count": 3}}"#,
            "Archive",
            json!({"thingId": "t1", "tags": ["x"], "big": "12", "inner": {"count": "3"}}),
        ),
        // An empty body is an empty message.
        ("POST", "/v1/things/t1:archive", "", "Archive", json!({"thingId": "t1"})),
        // body "field": the body is that field; the query fills the rest.
        (
            "PUT",
            "/v1/things/t1/inner?flag=true&note=hello%20there",
            r#"{"id": "in", "count": "5", "colour": "COLOUR_GREEN"}"#,
            "SetInner",
            json!({"thingId": "t1", "inner": {"id": "in", "count": "5", "colour": "COLOUR_GREEN"}, "flag": true, "note": "hello there"}),
        ),
        // Query parameters: repeated, nested, enums by name, int64 beyond f64, well-known types,
        // snake_case and lowerCamelCase alike.
        (
            "GET",
            "/v1/things?tags=a&tags=b&sizes=1&sizes=2&colour=COLOUR_RED&inner.count=7&inner.colour=COLOUR_GREEN&big=9007199254740993&at=2026-01-02T03:04:05Z&mask=thingId,inner.count&limit=5&flag&ratio=0.5&thing_id=q",
            "",
            "List",
            json!({
                "thingId": "q", "tags": ["a", "b"], "sizes": [1, 2], "colour": "COLOUR_RED",
                "inner": {"count": "7", "colour": "COLOUR_GREEN"}, "big": "9007199254740993",
                "at": "2026-01-02T03:04:05Z", "mask": "thingId,inner.count", "limit": 5, "flag": true, "ratio": 0.5,
            }),
        ),
        ("GET", "/v1/things?thingId=camel&flag=false", "", "List", json!({"thingId": "camel"})),
        // Bytes in JSON are base64.
        ("POST", "/v1/things/t:archive", r#"{"blob": "aGk="}"#, "Archive", json!({"thingId": "t", "blob": "aGk="})),
    ];
    for (verb, target, body, method, expected) in cases {
        let (name, message) = transcode(verb, target, body).unwrap_or_else(|e| panic!("{verb} {target}: {e:?}"));
        assert_eq!((name.as_str(), &message), (method, &expected), "{verb} {target} {body}");
    }
}

#[test]
fn bad_requests_name_the_field() {
    let cases = [
        ("GET", "/v1/things?nope=1", "", "nope"),
        ("GET", "/v1/things?inner.nope=1", "", "inner.nope"),
        ("GET", "/v1/things?colour=PURPLE", "", "colour"),
        ("GET", "/v1/things?big=1.5", "", "big"),
        ("GET", "/v1/things?flag=maybe", "", "flag"),
        ("GET", "/v1/things?inner=x", "", "inner"),
        ("GET", "/v1/things?labels.a=1", "", "labels.a"),
        ("GET", "/v1/things?note=a&note=b", "", "note"),
        ("GET", "/v1/things?tags.x=1", "", "tags.x"),
        ("POST", "/v1/things/t:archive?flag=true", "{}", "flag"),
        ("POST", "/v1/things/t:archive", r#"{"colour": "PURPLE"}"#, "colour"),
        ("POST", "/v1/things/t:archive", r#"{"nope": 1}"#, "nope"),
        ("POST", "/v1/things/t:archive", r#"{"tags": "not-a-list"}"#, "tags"),
        ("POST", "/v1/things/t:archive", r#"[1, 2]"#, "body"),
        ("POST", "/v1/things/t:archive", "{\"thingId\": \n\"x\",,}", "body"),
        ("PUT", "/v1/things/t/inner", r#"{"count": "lots"}"#, "inner.count"),
    ];
    for (verb, target, body, field) in cases {
        let (bad_field, message) = transcode(verb, target, body).expect_err(target);
        assert_eq!(bad_field, field, "{verb} {target} {body}: {message}");
        assert!(!message.is_empty());
    }
    // Malformed JSON says where.
    let (_, message) = transcode("POST", "/v1/things/t:archive", "{\"thingId\": \n\"x\",,}").unwrap_err();
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn raw_bodies_pass_untouched() {
    let raw = "t=1,v1=abc\n{\"id\": \"evt_1\"}";
    // `body: "*"` on a google.api.HttpBody request: the bytes and their content type.
    let (_, message) = transcode("POST", "/v1/raw", raw).unwrap();
    assert_eq!(message["contentType"], "application/x-test");
    let data = message["data"].as_str().unwrap();
    use base64::Engine;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(data).unwrap(), raw.as_bytes());
    // `body: "body"` where that field is an HttpBody (the Stripe webhook's shape).
    let (_, message) = transcode("POST", "/v1/things/t7/upload", raw).unwrap();
    assert_eq!(message["thingId"], "t7");
    assert_eq!(
        base64::engine::general_purpose::STANDARD.decode(message["body"]["data"].as_str().unwrap()).unwrap(),
        raw.as_bytes()
    );
}

#[test]
fn responses_are_lower_camel_case_with_every_field_and_int64_as_strings() {
    let routes = routes();
    let route = routes.iter().find(|r| r.method.descriptor.name() == "Get").unwrap();
    let mut thing = DynamicMessage::new(route.method.descriptor.output());
    thing.set_field_by_name("thing_id", Value::String("t1".into()));
    thing.set_field_by_name("big", Value::I64(1 << 60));
    let HttpOutput::Json(json) = transcode::response(&thing) else { panic!("not JSON") };
    let json: Json = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["thingId"], "t1");
    assert_eq!(json["big"], "1152921504606846976");
    // Defaults are there too, so clients need not guess what a missing key means.
    assert_eq!(
        (json["flag"].clone(), json["tags"].clone(), json["colour"].clone()),
        (json!(false), json!([]), json!("COLOUR_UNSPECIFIED"))
    );
    assert!(json.get("thing_id").is_none());

    // An HttpBody answer is its bytes with its content type.
    let raw = routes.iter().find(|r| r.method.descriptor.name() == "Raw").unwrap();
    let mut body = DynamicMessage::new(raw.method.descriptor.output());
    body.set_field_by_name("content_type", Value::String("text/csv".into()));
    body.set_field_by_name("data", Value::Bytes(Bytes::from_static(b"a,b\n")));
    match transcode::response(&body) {
        HttpOutput::Raw { content_type, body } => {
            assert_eq!((content_type.as_str(), &body[..]), ("text/csv", &b"a,b\n"[..]))
        }
        other => panic!("{other:?}"),
    }
}
