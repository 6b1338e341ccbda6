//! The contract as data: every RPC with its access level and HTTP rule, read from the
//! descriptor set. The access check in every service and the edge's routes come from here,
//! so a method's rules are written once, in its `.proto`.

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, MethodDescriptor, Value};

use crate::google::api::{HttpRule, http_rule::Pattern};

/// Who may call an RPC (`mart.common.v1.access`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// Anyone, no token.
    Public,
    /// Any signed-in account, acting on its own data.
    User,
    /// Accounts with the admin role.
    Admin,
    /// Other services only; never routed by the edge.
    Internal,
}

/// One RPC of the contract.
#[derive(Clone, Debug)]
pub struct Method {
    /// The gRPC path, `/mart.user.v1.UserService/Register`: what a server sees in the URI.
    pub path: String,
    /// The full descriptor, for whoever needs the message types or comments.
    pub descriptor: MethodDescriptor,
    /// The access level, `None` when the `.proto` forgot it (the contract test refuses that).
    pub access: Option<Access>,
    /// The `google.api.http` rule, for public RPCs.
    pub http: Option<HttpRoute>,
}

/// A `google.api.http` rule reduced to what routing needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRoute {
    /// `GET`, `POST`, `PATCH`, `PUT`, `DELETE` (or a custom verb).
    pub verb: String,
    /// The path template, `/v1/products/{product_id}`.
    pub path: String,
    /// The `body` field: `*`, a field name, or empty for none.
    pub body: String,
}

/// The decoded descriptor pool of the whole contract.
pub fn pool() -> &'static DescriptorPool {
    static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
        // The bytes are produced by our own build script from files it just compiled; a
        // failure here is a broken build, not a run-time condition.
        DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET).expect("the built-in descriptor set decodes")
    });
    &POOL
}

/// Every RPC of every `mart.*` service.
pub fn methods() -> &'static [Method] {
    static METHODS: LazyLock<Vec<Method>> = LazyLock::new(|| {
        pool()
            .services()
            .filter(|service| service.full_name().starts_with("mart."))
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .map(|descriptor| Method {
                path: format!("/{}/{}", descriptor.parent_service().full_name(), descriptor.name()),
                access: access_of(&descriptor),
                http: http_rule_of(&descriptor),
                descriptor,
            })
            .collect()
    });
    &METHODS
}

/// Looks a method up by its gRPC path.
pub fn method(path: &str) -> Option<&'static Method> {
    methods().iter().find(|method| method.path == path)
}

/// The full names of the contract's services (`mart.user.v1.UserService`, …).
pub fn service_names() -> Vec<String> {
    pool()
        .services()
        .filter(|service| service.full_name().starts_with("mart."))
        .map(|service| service.full_name().to_owned())
        .collect()
}

fn access_of(method: &MethodDescriptor) -> Option<Access> {
    let extension = pool().get_extension_by_name("mart.common.v1.access")?;
    let options = method.options();
    if !options.has_extension(&extension) {
        return None;
    }
    match options.get_extension(&extension).as_ref() {
        Value::EnumNumber(n) => match crate::common::Access::try_from(*n).ok()? {
            crate::common::Access::Unspecified => None,
            crate::common::Access::Public => Some(Access::Public),
            crate::common::Access::User => Some(Access::User),
            crate::common::Access::Admin => Some(Access::Admin),
            crate::common::Access::Internal => Some(Access::Internal),
        },
        _ => None,
    }
}

fn http_rule_of(method: &MethodDescriptor) -> Option<HttpRoute> {
    let extension = pool().get_extension_by_name("google.api.http")?;
    let options = method.options();
    if !options.has_extension(&extension) {
        return None;
    }
    let rule: HttpRule = options.get_extension(&extension).as_message()?.transcode_to().ok()?;
    let (verb, path) = match rule.pattern? {
        Pattern::Get(path) => ("GET".to_owned(), path),
        Pattern::Put(path) => ("PUT".to_owned(), path),
        Pattern::Post(path) => ("POST".to_owned(), path),
        Pattern::Delete(path) => ("DELETE".to_owned(), path),
        Pattern::Patch(path) => ("PATCH".to_owned(), path),
        Pattern::Custom(custom) => (custom.kind, custom.path),
    };
    Some(HttpRoute { verb, path, body: rule.body })
}
