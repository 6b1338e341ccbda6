//! The OpenAPI 3.1 document, built at start from the routes and the descriptors' comments:
//! every route with its parameters, request and response schemas, the error body, and the
//! bearer requirement of its access level. Nothing here names an endpoint.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mart_proto::contract::{self, Access};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};

use crate::routes::{Route, Routes};

/// The OpenAPI document for `routes`.
pub fn document(routes: &Routes) -> Json {
    let comments = Comments::load();
    let mut schemas = Schemas { comments: &comments, seen: BTreeMap::new() };
    let mut paths: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    let mut tags = BTreeSet::new();
    for route in routes.iter() {
        let (path, operation) = operation(route, &mut schemas, &comments);
        tags.insert(route.method.descriptor.parent_service().name().to_owned());
        paths.entry(path).or_default().insert(route.verb.to_ascii_lowercase(), operation);
    }
    let tags: Vec<Json> = tags
        .into_iter()
        .map(|name| {
            let service = contract::pool().services().find(|s| s.name() == name);
            let description = service.map(|s| comments.of(s.parent_file().name(), s.path())).unwrap_or_default();
            json!({"name": name, "description": description})
        })
        .collect();
    let mut components_schemas: Map<String, Json> = schemas.seen.into_iter().collect();
    components_schemas.insert("Error".to_owned(), error_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Online Mart API",
            "version": "v1",
            "description": "The REST face of Online Mart's gRPC services, generated from their protos. \
                JSON follows the proto3 JSON mapping: lowerCamelCase names (snake_case accepted), \
                int64 as strings, enums by name, timestamps in RFC 3339. Money is integer minor \
                units with an ISO currency. Errors are `{code, message, details}`.",
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": components_schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "The access token from POST /v1/auth/login."}
            },
            "responses": error_responses(),
        },
    })
}

fn operation(route: &Route, schemas: &mut Schemas<'_>, comments: &Comments) -> (String, Json) {
    let method = &route.method.descriptor;
    let file = method.parent_file();
    let description = comments.of(file.name(), method.path());
    let summary = description.lines().next().unwrap_or(method.name()).trim_end_matches('.').to_owned();
    let input = method.input();
    let body_rule = route.method.http.as_ref().map(|h| h.body.clone()).unwrap_or_default();

    // The template in OpenAPI's form: `{name=shelves/*}` becomes `{name}`.
    let mut path = String::new();
    let mut path_params = Vec::new();
    let mut in_variable = false;
    let mut skipping = false;
    let mut name = String::new();
    for c in route.template.chars() {
        match c {
            '{' => {
                in_variable = true;
                name.clear();
                path.push(c);
            }
            '}' => {
                in_variable = false;
                skipping = false;
                path.push_str(&name);
                path.push(c);
                path_params.push(name.clone());
            }
            '=' if in_variable => skipping = true,
            _ if in_variable && !skipping => name.push(c),
            _ if in_variable => {}
            _ => path.push(c),
        }
    }

    let mut parameters = Vec::new();
    let mut bound_top = BTreeSet::new();
    for param in &path_params {
        let field = field_at(&input, param);
        bound_top.insert(param.split('.').next().unwrap_or(param).to_owned());
        let (schema, description) = match &field {
            Some(field) => (schemas.field_schema(field), comments.of(field.parent_file().name(), field.path())),
            None => (json!({"type": "string"}), String::new()),
        };
        parameters
            .push(json!({"name": param, "in": "path", "required": true, "schema": schema, "description": description}));
    }

    let mut request_body = Json::Null;
    match body_rule.as_str() {
        "" => {}
        "*" if input.full_name() == "google.api.HttpBody" => {
            request_body = json!({"required": true, "content": {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}});
        }
        "*" => {
            let schema = schemas.message_ref(&input);
            request_body = json!({"required": true, "content": {"application/json": {"schema": schema}}});
        }
        field_name => {
            if let Some(field) = input.get_field_by_name(field_name) {
                bound_top.insert(field.name().to_owned());
                let raw = matches!(field.kind(), Kind::Message(inner) if inner.full_name() == "google.api.HttpBody");
                request_body = if raw {
                    // The raw bytes as sent (an upload), in any content type.
                    json!({"required": true, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}})
                } else {
                    let schema = schemas.field_schema(&field);
                    json!({"required": true, "content": {"application/json": {"schema": schema}}})
                };
            }
        }
    }
    if body_rule != "*" {
        for field in input.fields().filter(|f| !bound_top.contains(f.name())) {
            query_parameters(&field, String::new(), schemas, comments, &mut parameters, 0);
        }
    }

    let output = method.output();
    let success = if method.is_server_streaming() {
        json!({
            "description": "A stream: newline-delimited JSON, one message per line as it comes; an error after the \
                            first is a last line `{\"error\": {\"code\", \"message\"}}`.",
            "content": {"application/x-ndjson": {"schema": schemas.message_ref(&output)}}
        })
    } else if output.full_name() == "google.api.HttpBody" {
        json!({"description": "The raw answer.", "content": {"*/*": {"schema": {"type": "string"}}}})
    } else {
        json!({"description": "OK", "content": {"application/json": {"schema": schemas.message_ref(&output)}}})
    };
    let access = route.method.access;
    let mut responses = Map::new();
    responses.insert("200".to_owned(), success);
    let mut errors = vec!["400", "404", "409", "429", "503", "504"];
    if matches!(access, Some(Access::User | Access::Admin)) {
        errors.extend(["401", "403"]);
    }
    for status in errors {
        responses.insert(status.to_owned(), json!({"$ref": format!("#/components/responses/{status}")}));
    }
    let (security, access_name) = match access {
        Some(Access::Public) => (json!([{}, {"bearer": []}]), "PUBLIC"),
        Some(Access::User) => (json!([{"bearer": []}]), "USER"),
        Some(Access::Admin) => (json!([{"bearer": []}]), "ADMIN"),
        _ => (json!([]), "INTERNAL"),
    };
    let access_note = match access {
        Some(Access::Public) => "Access: anyone, no token needed.",
        Some(Access::User) => "Access: any signed-in account, on its own data.",
        Some(Access::Admin) => "Access: admin accounts only.",
        _ => "",
    };
    let mut operation = json!({
        "operationId": format!("{}_{}", method.parent_service().name(), method.name()),
        "summary": summary,
        "description": format!("{description}\n\n{access_note}").trim().to_owned(),
        "tags": [method.parent_service().name()],
        "parameters": parameters,
        "responses": responses,
        "security": security,
        "x-mart-access": access_name,
        "x-grpc-method": route.method.path,
    });
    if !request_body.is_null() {
        operation["requestBody"] = request_body;
    }
    (path, operation)
}

/// Query parameters for `field` and, one level down, the scalar fields of a message field.
fn query_parameters(
    field: &FieldDescriptor,
    prefix: String,
    schemas: &mut Schemas<'_>,
    comments: &Comments,
    out: &mut Vec<Json>,
    depth: usize,
) {
    let name = format!("{prefix}{}", field.json_name());
    let description = comments.of(field.parent_file().name(), field.path());
    match field.kind() {
        Kind::Message(message) if !is_scalar_like(message.full_name()) && !field.is_list() && !field.is_map() => {
            if depth == 0 {
                for inner in message.fields() {
                    query_parameters(&inner, format!("{name}."), schemas, comments, out, depth + 1);
                }
            }
        }
        Kind::Message(message) if field.is_map() || (field.is_list() && !is_scalar_like(message.full_name())) => {}
        _ => {
            let schema = schemas.field_schema(field);
            out.push(
                json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description}),
            );
        }
    }
}

fn field_at(message: &MessageDescriptor, path: &str) -> Option<FieldDescriptor> {
    let mut message = message.clone();
    let mut found = None;
    for step in path.split('.') {
        let field = message.get_field_by_name(step)?;
        if let Kind::Message(inner) = field.kind() {
            message = inner;
        }
        found = Some(field);
    }
    found
}

fn is_scalar_like(name: &str) -> bool {
    name.starts_with("google.protobuf.")
        && !matches!(name, "google.protobuf.Struct" | "google.protobuf.Any" | "google.protobuf.Empty")
}

// === impl Schemas ===

/// The component schemas referenced so far, by message full name.
struct Schemas<'a> {
    comments: &'a Comments,
    seen: BTreeMap<String, Json>,
}

impl Schemas<'_> {
    fn message_ref(&mut self, message: &MessageDescriptor) -> Json {
        if let Some(schema) = well_known(message.full_name()) {
            return schema;
        }
        let name = message.full_name().to_owned();
        if !self.seen.contains_key(&name) {
            // Placeholder first, so recursive messages terminate.
            self.seen.insert(name.clone(), Json::Null);
            let schema = self.message_schema(message);
            self.seen.insert(name.clone(), schema);
        }
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    fn message_schema(&mut self, message: &MessageDescriptor) -> Json {
        let mut properties = Map::new();
        for field in message.fields() {
            let mut schema = self.field_schema(&field);
            let description = self.comments.of(field.parent_file().name(), field.path());
            if !description.is_empty()
                && let Json::Object(map) = &mut schema
            {
                if map.contains_key("$ref") {
                    schema = json!({"allOf": [schema], "description": description});
                } else {
                    map.insert("description".to_owned(), Json::String(description));
                }
            }
            properties.insert(field.json_name().to_owned(), schema);
        }
        let description = self.comments.of(message.parent_file().name(), message.path());
        json!({"type": "object", "description": description, "properties": properties})
    }

    fn field_schema(&mut self, field: &FieldDescriptor) -> Json {
        if field.is_map()
            && let Kind::Message(entry) = field.kind()
        {
            let value = entry.map_entry_value_field();
            return json!({"type": "object", "additionalProperties": self.single(&value.kind())});
        }
        let single = self.single(&field.kind());
        if field.is_list() { json!({"type": "array", "items": single}) } else { single }
    }

    fn single(&mut self, kind: &Kind) -> Json {
        match kind {
            Kind::Double => json!({"type": "number", "format": "double"}),
            Kind::Float => json!({"type": "number", "format": "float"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({"type": "integer", "format": "int32"}),
            Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "format": "int64", "minimum": 0}),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({"type": "string", "format": "int64", "description": "a 64-bit integer, as a string"})
            }
            Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "format": "uint64"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
            Kind::Enum(e) => {
                let values: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
                json!({"type": "string", "enum": values})
            }
            Kind::Message(message) => self.message_ref(message),
        }
    }
}

/// The JSON form of the well-known types that are not objects.
fn well_known(name: &str) -> Option<Json> {
    Some(match name {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"}),
        "google.protobuf.FieldMask" => {
            json!({"type": "string", "description": "comma-separated lowerCamelCase field paths"})
        }
        "google.protobuf.StringValue" => json!({"type": ["string", "null"]}),
        "google.protobuf.BoolValue" => json!({"type": ["boolean", "null"]}),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => json!({"type": ["integer", "null"]}),
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => json!({"type": ["string", "null"]}),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => json!({"type": ["number", "null"]}),
        "google.protobuf.BytesValue" => json!({"type": ["string", "null"], "contentEncoding": "base64"}),
        "google.protobuf.Empty" => json!({"type": "object"}),
        "google.protobuf.Struct" => json!({"type": "object", "additionalProperties": true}),
        "google.protobuf.Value" => json!({}),
        _ => return None,
    })
}

fn error_schema() -> Json {
    json!({
        "type": "object",
        "description": "Every error: the gRPC code's name, a message for people, and the rich details \
            (google.rpc.BadRequest field violations, google.rpc.ErrorInfo).",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "examples": ["INVALID_ARGUMENT", "NOT_FOUND"]},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object", "properties": {"@type": {"type": "string"}}, "additionalProperties": true}},
        },
    })
}

fn error_responses() -> Json {
    let mut responses = Map::new();
    for (status, what) in [
        ("400", "The request is invalid (INVALID_ARGUMENT); field violations name the fields."),
        ("401", "No valid access token (UNAUTHENTICATED)."),
        ("403", "The token's account may not do this (PERMISSION_DENIED)."),
        ("404", "Not found, or not yours (NOT_FOUND)."),
        ("409", "Conflicts with the current state (ALREADY_EXISTS, ABORTED, FAILED_PRECONDITION)."),
        ("429", "Too many requests (RESOURCE_EXHAUSTED); see Retry-After."),
        ("503", "A service is unavailable (UNAVAILABLE)."),
        ("504", "A service did not answer in time (DEADLINE_EXCEEDED)."),
    ] {
        responses.insert(
            status.to_owned(),
            json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Json::Object(responses)
}

// === impl Comments ===

/// Leading comments of every element, by file and source path.
struct Comments {
    by_file: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Comments {
    fn load() -> Self {
        let mut by_file = HashMap::new();
        for file in contract::pool().files() {
            let mut locations = HashMap::new();
            if let Some(info) = &file.file_descriptor_proto().source_code_info {
                for location in &info.location {
                    if let Some(comment) = &location.leading_comments {
                        let text = comment.lines().map(str::trim).collect::<Vec<_>>().join("\n").trim().to_owned();
                        locations.insert(location.path.clone(), text);
                    }
                }
            }
            by_file.insert(file.name().to_owned(), locations);
        }
        Self { by_file }
    }

    fn of(&self, file: &str, path: &[i32]) -> String {
        self.by_file.get(file).and_then(|locations| locations.get(path)).cloned().unwrap_or_default()
    }
}
