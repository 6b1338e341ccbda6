//! deploy/ checked against what the code knows, so the two cannot drift apart: the compose
//! file, and the Kubernetes manifests as `kubectl kustomize` renders them (base and the dev
//! overlay), run every service on its port from `mart_platform::config::Service`, wire
//! every peer address to a real service on that port, give each its own database that the
//! PostgreSQL init script creates, probe every container, and set only variables the
//! platform reads. The image is the one deploy/Dockerfile builds with every binary in it.
//!
//! The manifests are rendered by `kubectl kustomize` (`KUBECTL` names another binary);
//! scripts/test installs kubectl when it is missing.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use mart_platform::config::Service;
use serde_yaml::Value;

/// What `deploy/` calls the image, and the tags its two Kubernetes variants give it.
const IMAGE: &str = "online-mart";
/// The compose file's tag, and the dev overlay's.
const DEV_TAG: &str = "dev";
/// A service's Prometheus listener (`MART_METRICS_ADDR`).
const METRICS_PORT: u16 = 9464;
/// The edge's HTTP port (DESIGN.md §1).
const EDGE_PORT: u16 = 8000;

// === compose ===

#[test]
fn compose_runs_every_service_on_its_port_wired_to_the_others() {
    let compose = Compose::load();
    let databases = init_databases();

    for service in Service::ALL {
        let name = service_name(service);
        let container = compose.service(&name);
        assert_eq!(str_at(container, &["image"]), format!("{IMAGE}:{DEV_TAG}"), "{name}: image");
        assert_eq!(str_at(container, &["build", "dockerfile"]), "deploy/Dockerfile", "{name}: built from");
        assert_eq!(strings(&container["command"]), [name.as_str()], "{name}: runs its own binary");
        let env = compose.environment(&name);
        check_service_env(service, &env, &databases, &|host, port| compose.serves(host, port));
        assert!(
            env["DATABASE_URL"].contains("@postgres:5432/"),
            "{name}: DATABASE_URL is the compose PostgreSQL: {}",
            env["DATABASE_URL"]
        );
        assert_eq!(env["KAFKA_BROKERS"], "kafka:9092", "{name}: KAFKA_BROKERS");
        assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://jaeger:4317", "{name}: traces go to Jaeger");
        assert!(is_probe(&container["healthcheck"]["test"]), "{name}: health check is `mart probe`");
        for (dependency, condition) in
            [("postgres", "service_healthy"), ("kafka", "service_healthy"), ("jaeger", "service_started")]
        {
            assert_eq!(
                str_at(container, &["depends_on", dependency, "condition"]),
                condition,
                "{name}: waits for {dependency}"
            );
        }
    }

    let user = compose.environment("svc-user");
    assert!(!user["MART_BOOTSTRAP_ADMIN_EMAIL"].is_empty(), "svc-user: the first admin's email has a default");
    // No working admin password or key-encryption key ships: compose refuses to start,
    // naming the variable, until the operator sets them.
    for (variable, from) in [
        ("MART_BOOTSTRAP_ADMIN_PASSWORD", "MART_ADMIN_PASSWORD"),
        ("MART_KEY_ENCRYPTION_KEY", "MART_KEY_ENCRYPTION_KEY"),
    ] {
        let value = &user[variable];
        assert!(value.starts_with(&format!("${{{from}:?set {from} ")), "svc-user: {variable} is required: {value}");
    }
    // Stripe and SMTP come from the host; unset there, they are empty (manual payments,
    // inbox only), which the platform reads as unset.
    let payment = compose.environment("svc-payment");
    assert_eq!((payment["STRIPE_SECRET_KEY"].as_str(), payment["STRIPE_WEBHOOK_SECRET"].as_str()), ("", ""));
    assert_eq!(compose.environment("svc-notify")["SMTP_URL"], "");
}

#[test]
fn compose_puts_the_edge_on_8000_after_all_six_and_jaeger_on_16686() {
    let compose = Compose::load();
    let edge = compose.service("edge");
    assert_eq!(str_at(edge, &["image"]), format!("{IMAGE}:{DEV_TAG}"));
    assert_eq!(strings(&edge["command"]), ["edge"]);
    assert!(compose.published("edge").contains(&(EDGE_PORT, EDGE_PORT)), "the edge is published on :8000");
    let env = compose.environment("edge");
    assert_eq!(env["MART_HTTP_ADDR"], format!("0.0.0.0:{EDGE_PORT}"));
    // /metrics is not on the public port, and its own is not published.
    assert_eq!(env["MART_METRICS_ADDR"], format!("0.0.0.0:{METRICS_PORT}"), "the edge's metrics listener");
    assert!(!compose.published("edge").iter().any(|(_, inside)| *inside == METRICS_PORT), "edge metrics published");
    check_peers("edge", &env, &|host, port| compose.serves(host, port));
    assert!(is_probe(&edge["healthcheck"]["test"]), "the edge's health check is `mart probe` (its /healthz)");
    for service in Service::ALL {
        let name = service_name(service);
        assert_eq!(str_at(edge, &["depends_on", &name, "condition"]), "service_healthy", "the edge waits for {name}");
    }

    // Nothing is published beyond this host by default.
    for name in compose.services() {
        for mapping in strings(&compose.service(&name)["ports"]) {
            assert!(mapping.starts_with("127.0.0.1:"), "{name} publishes {mapping} on every interface");
        }
    }
    let jaeger = compose.published("jaeger");
    for port in [16686, 4317, 4318] {
        assert!(jaeger.contains(&(port, port)), "Jaeger publishes {port}: {jaeger:?}");
    }

    // KRaft: the broker is its own controller, and tells clients the address they were given.
    let kafka = compose.environment("kafka");
    assert!(kafka["KAFKA_PROCESS_ROLES"].split(',').any(|role| role == "controller"), "KRaft, no ZooKeeper");
    assert!(!compose.services().iter().any(|name| name.contains("zookeeper")));
    assert!(kafka["KAFKA_ADVERTISED_LISTENERS"].contains("//kafka:9092"), "clients reach kafka:9092");

    let postgres = compose.service("postgres");
    let mounts = strings(&postgres["volumes"]);
    assert!(
        mounts.iter().any(|m| m.starts_with("./postgres:/docker-entrypoint-initdb.d")),
        "the init scripts are mounted: {mounts:?}"
    );
    assert!(strings(&postgres["healthcheck"]["test"]).contains(&"pg_isready".to_owned()));

    for name in compose.services() {
        let test = strings(&compose.service(&name)["healthcheck"]["test"]);
        assert!(test.len() > 1, "{name} has a health check");
    }
}

// === Kubernetes ===

#[test]
fn the_kubernetes_base_runs_every_service_on_its_port_wired_to_the_others() {
    let base = Manifests::render("base");
    check_kubernetes(&base, env!("CARGO_PKG_VERSION"));
    // The base's Secret holds placeholders only; a too-short admin password keeps svc-user
    // from starting with one.
    let secret = base.find("Secret", "mart-secrets");
    assert!(str_at(secret, &["stringData", "bootstrap-admin-password"]).chars().count() < 10);
    assert_eq!(str_at(secret, &["stringData", "key-encryption-key"]), "CHANGE-ME", "a placeholder, not a key");
}

#[test]
fn the_dev_overlay_is_the_base_in_its_namespace_smaller_on_the_dev_image() {
    let base = Manifests::render("base");
    let dev = Manifests::render("overlays/dev");
    check_kubernetes(&dev, DEV_TAG);

    assert!(dev.of_kind("Namespace").any(|ns| name_of(ns) == "mart-dev"), "the namespace is created");
    // Dev ships no working admin password or key-encryption key either: the base's
    // placeholders, which svc-user refuses, until the operator patches in their own.
    let secret = dev.find("Secret", "mart-secrets");
    assert!(str_at(secret, &["stringData", "bootstrap-admin-password"]).chars().count() < 10);
    assert_eq!(str_at(secret, &["stringData", "key-encryption-key"]), "CHANGE-ME");
    for object in &dev.objects {
        if kind_of(object) != "Namespace" {
            assert_eq!(str_at(object, &["metadata", "namespace"]), "mart-dev", "{}", name_of(object));
        }
    }
    for deployment in dev.of_kind("Deployment") {
        let name = name_of(deployment);
        let before = &base.find("Deployment", name)["spec"]["replicas"];
        let after = &deployment["spec"]["replicas"];
        assert!(after.as_u64() <= before.as_u64(), "{name}: no more replicas than the base");
        let memory = |d: &Value| str_at(&containers(d)[0], &["resources", "requests", "memory"]).to_owned();
        assert!(
            mebibytes(&memory(deployment)) < mebibytes(&memory(base.find("Deployment", name))),
            "{name}: smaller requests"
        );
    }
    for hpa in dev.of_kind("HorizontalPodAutoscaler") {
        let before = base.find("HorizontalPodAutoscaler", name_of(hpa));
        assert!(hpa["spec"]["maxReplicas"].as_u64() < before["spec"]["maxReplicas"].as_u64());
    }
    assert!(dev.config()["KAFKA_BROKERS"] != base.config()["KAFKA_BROKERS"], "the dev overlay points at its own Kafka");
}

// === the image and the variables ===

#[test]
fn the_image_holds_every_binary_runs_as_a_user_and_checks_itself_with_mart_probe() {
    let dockerfile = std::fs::read_to_string(root().join("deploy/Dockerfile")).expect("deploy/Dockerfile");
    let binaries = dockerfile
        .lines()
        .find_map(|line| line.trim().strip_prefix("ARG BINARIES="))
        .expect("an ARG BINARIES line")
        .trim_matches('"');
    let binaries: BTreeSet<&str> = binaries.split_whitespace().collect();
    let mut expected: BTreeSet<String> = Service::ALL.iter().map(|&s| service_name(s)).collect();
    expected.extend(["edge".to_owned(), "mart".to_owned()]);
    assert_eq!(binaries, expected.iter().map(String::as_str).collect::<BTreeSet<_>>());

    let last_stage = dockerfile.rsplit("\nFROM ").next().unwrap_or_default();
    let user = last_stage.lines().find_map(|l| l.strip_prefix("USER ")).expect("the runtime stage sets USER");
    assert!(!user.starts_with('0') && !user.starts_with("root"), "USER {user}");
    let healthcheck = last_stage.lines().find(|l| l.starts_with("HEALTHCHECK")).expect("a HEALTHCHECK");
    assert!(healthcheck.contains(r#"CMD ["mart", "probe"]"#), "{healthcheck}");

    let ignored = std::fs::read_to_string(root().join(".dockerignore")).expect("a .dockerignore at the root");
    for path in ["target/", ".mart/", ".git/"] {
        assert!(ignored.lines().any(|line| line.trim() == path), ".dockerignore leaves out {path}");
    }
}

#[test]
fn every_variable_deploy_sets_is_one_the_platform_reads() {
    let known = read_variables();
    let mut set: BTreeMap<String, &str> = BTreeMap::new();
    let compose = Compose::load();
    for name in compose.services() {
        if name == "edge" || name.starts_with("svc-") {
            set.extend(compose.environment(&name).into_keys().map(|variable| (variable, "deploy/compose.yaml")));
        }
    }
    for (dir, manifests) in [("base", Manifests::render("base")), ("overlays/dev", Manifests::render("overlays/dev"))] {
        let origin = if dir == "base" { "deploy/k8s/base" } else { "deploy/k8s/overlays/dev" };
        for deployment in manifests.of_kind("Deployment") {
            for container in containers(deployment).iter().chain(init_containers(deployment)) {
                set.extend(manifests.environment(container).into_keys().map(|variable| (variable, origin)));
            }
        }
    }
    let unknown: Vec<String> = set
        .iter()
        .filter(|(variable, _)| !known.contains(*variable))
        .map(|(v, origin)| format!("{v} ({origin})"))
        .collect();
    assert!(unknown.is_empty(), "set in deploy/ but read nowhere in platform/src: {unknown:?}");
}

// === what both deployments must agree on ===

/// A service's own variables: its address, metrics, database, the bus, traces and logs,
/// and its peers. `serves(host, port)` says whether `host` is a service listening on `port`.
fn check_service_env(
    service: Service,
    env: &BTreeMap<String, String>,
    databases: &BTreeSet<String>,
    serves: &dyn Fn(&str, u16) -> bool,
) {
    let name = service_name(service);
    assert_eq!(env["MART_GRPC_ADDR"], format!("0.0.0.0:{}", service.default_port()), "{name}: MART_GRPC_ADDR");
    assert_eq!(env["MART_METRICS_ADDR"], format!("0.0.0.0:{METRICS_PORT}"), "{name}: MART_METRICS_ADDR");
    let database = database_name(&env["DATABASE_URL"]);
    assert_eq!(database, format!("mart_{}", service.name()), "{name}: its own database");
    assert!(databases.contains(&database), "{name}: {database} is created by deploy/postgres/ ({databases:?})");
    assert_eq!(env["MART_EVENT_BUS"], "kafka", "{name}: MART_EVENT_BUS");
    assert!(!env["KAFKA_BROKERS"].is_empty(), "{name}: KAFKA_BROKERS");
    assert!(env["OTEL_EXPORTER_OTLP_ENDPOINT"].starts_with("http://"), "{name}: OTEL_EXPORTER_OTLP_ENDPOINT");
    assert_eq!(env["OTEL_EXPORTER_OTLP_PROTOCOL"], "grpc", "{name}: OTEL_EXPORTER_OTLP_PROTOCOL");
    assert_eq!(env["MART_LOG_FORMAT"], "json", "{name}: MART_LOG_FORMAT");
    check_peers(&name, env, serves);
}

/// Every peer address is `http://svc-<name>:<its port>`, and that host serves that port.
fn check_peers(who: &str, env: &BTreeMap<String, String>, serves: &dyn Fn(&str, u16) -> bool) {
    for peer in Service::ALL {
        let variable = format!("MART_{}_ADDR", peer.name().to_uppercase());
        let host = service_name(peer);
        let expected = format!("http://{host}:{}", peer.default_port());
        assert_eq!(env.get(&variable), Some(&expected), "{who}: {variable}");
        assert!(serves(&host, peer.default_port()), "{who}: {variable} names {host}, which serves that port");
    }
}

fn check_kubernetes(manifests: &Manifests, tag: &str) {
    let image = format!("{IMAGE}:{tag}");
    let databases = init_databases();
    let serves = |host: &str, port: u16| manifests.service_reaches(host, port);

    for service in Service::ALL {
        let name = service_name(service);
        let port = service.default_port();
        let deployment = manifests.find("Deployment", &name);
        let container = manifests.container(deployment, &name);
        assert_eq!(str_at(container, &["image"]), image, "{name}: image");
        assert_eq!(strings(&container["command"]), [name.as_str()], "{name}: runs its own binary");
        assert_eq!(container_port(container, "grpc"), Some(port), "{name}: gRPC port");
        assert_eq!(container_port(container, "metrics"), Some(METRICS_PORT), "{name}: metrics port");
        let env = manifests.environment(container);
        check_service_env(service, &env, &databases, &serves);
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert_eq!(container[probe]["grpc"]["port"].as_u64(), Some(port.into()), "{name}: {probe} on gRPC health");
        }
        assert!(serves(&name, METRICS_PORT), "{name}: the Service exposes metrics");
        assert_eq!(annotation(deployment, "prometheus.io/port"), METRICS_PORT.to_string(), "{name}: scraped");

        // Migrations first, against the same database, from the same image.
        let migrate = init_containers(deployment)
            .iter()
            .find(|c| str_at(c, &["name"]) == "migrate")
            .unwrap_or_else(|| panic!("{name}: a migrate init container"));
        assert_eq!(strings(&migrate["command"]), [name.as_str(), "migrate"]);
        assert_eq!(str_at(migrate, &["image"]), image);
        assert_eq!(
            manifests.environment(migrate)["DATABASE_URL"],
            env["DATABASE_URL"],
            "{name}: migrates its database"
        );
    }

    let edge = manifests.find("Deployment", "edge");
    let container = manifests.container(edge, "edge");
    assert_eq!(str_at(container, &["image"]), image);
    assert_eq!(strings(&container["command"]), ["edge"]);
    assert_eq!(container_port(container, "http"), Some(EDGE_PORT));
    let env = manifests.environment(container);
    assert_eq!(env["MART_HTTP_ADDR"], format!("0.0.0.0:{EDGE_PORT}"));
    check_peers("edge", &env, &serves);
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        assert_eq!(str_at(container, &[probe, "httpGet", "path"]), path, "edge: {probe}");
        assert_eq!(resolve_port(container, &container[probe]["httpGet"]["port"]), Some(EDGE_PORT), "edge: {probe}");
    }
    assert!(serves("edge", EDGE_PORT), "the edge Service is on {EDGE_PORT}");
    // /metrics is only on the edge's private listener, which Prometheus scrapes.
    assert_eq!(env["MART_METRICS_ADDR"], format!("0.0.0.0:{METRICS_PORT}"), "edge: MART_METRICS_ADDR");
    assert_eq!(container_port(container, "metrics"), Some(METRICS_PORT), "edge: metrics port");
    assert!(serves("edge", METRICS_PORT), "the edge Service exposes metrics");
    assert_eq!(
        annotation(edge, "prometheus.io/port"),
        METRICS_PORT.to_string(),
        "the edge is scraped on its metrics port"
    );

    for deployment in manifests.of_kind("Deployment") {
        let name = name_of(deployment);
        let pod = &deployment["spec"]["template"];
        assert!(
            labels_match(&deployment["spec"]["selector"]["matchLabels"], &pod["metadata"]["labels"]),
            "{name}: the selector selects its own pods"
        );
        assert_eq!(annotation(deployment, "prometheus.io/scrape"), "true", "{name}: scraped");
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"].as_bool(), Some(true), "{name}: runAsNonRoot");
        for container in containers(deployment).iter().chain(init_containers(deployment)) {
            let what = format!("{name}/{}", str_at(container, &["name"]));
            assert_eq!(
                container["securityContext"]["readOnlyRootFilesystem"].as_bool(),
                Some(true),
                "{what}: read-only root"
            );
            assert_eq!(container["securityContext"]["allowPrivilegeEscalation"].as_bool(), Some(false), "{what}");
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(container["resources"][bound][resource].is_string(), "{what}: {bound}.{resource}");
                }
            }
        }
        let budgets: Vec<&Value> = manifests
            .of_kind("PodDisruptionBudget")
            .filter(|pdb| labels_match(&pdb["spec"]["selector"]["matchLabels"], &pod["metadata"]["labels"]))
            .collect();
        assert_eq!(budgets.len(), 1, "{name}: one PodDisruptionBudget");
    }

    // Every Service and every budget selects exactly one Deployment's pods, and every port
    // of a Service lands on a port its pods open.
    for service in manifests.of_kind("Service") {
        let name = name_of(service);
        let deployment = manifests.selected(&service["spec"]["selector"], name);
        for port in service["spec"]["ports"].as_sequence().into_iter().flatten() {
            let target = if port["targetPort"].is_null() { &port["port"] } else { &port["targetPort"] };
            let opens = containers(deployment).iter().any(|c| resolve_port(c, target).is_some());
            assert!(opens, "{name}: targetPort {target:?} is a container port of {}", name_of(deployment));
        }
    }
    for pdb in manifests.of_kind("PodDisruptionBudget") {
        manifests.selected(&pdb["spec"]["selector"]["matchLabels"], name_of(pdb));
    }

    // The autoscaled ones: the edge and svc-order, and the HPA alone sets their count.
    let scaled: BTreeSet<&str> = manifests
        .of_kind("HorizontalPodAutoscaler")
        .map(|hpa| {
            assert_eq!(str_at(hpa, &["apiVersion"]), "autoscaling/v2");
            let target = &hpa["spec"]["scaleTargetRef"];
            assert_eq!(str_at(target, &["kind"]), "Deployment");
            let deployment = manifests.find("Deployment", str_at(target, &["name"]));
            assert!(deployment["spec"]["replicas"].is_null(), "{}: replicas are the HPA's", name_of(deployment));
            assert!(hpa["spec"]["minReplicas"].as_u64() <= hpa["spec"]["maxReplicas"].as_u64());
            str_at(target, &["name"])
        })
        .collect();
    assert_eq!(scaled, BTreeSet::from(["edge", "svc-order"]));
}

// === compose, read ===

/// deploy/compose.yaml with merge keys applied and `${VAR:-default}` read as if the
/// host set nothing (the defaults are what a fresh checkout runs with).
struct Compose(Value);

impl Compose {
    fn load() -> Self {
        let text = std::fs::read_to_string(root().join("deploy/compose.yaml")).expect("deploy/compose.yaml");
        let mut value: Value = serde_yaml::from_str(&text).expect("compose.yaml is YAML");
        // One level of `<<` per pass: a merged mapping that merges another needs a second.
        while has_merge_key(&value) {
            value.apply_merge().expect("merge keys apply");
        }
        interpolate(&mut value);
        Self(value)
    }

    fn services(&self) -> Vec<String> {
        let services = self.0["services"].as_mapping().expect("services");
        services.keys().map(|k| k.as_str().expect("a service name").to_owned()).collect()
    }

    fn service(&self, name: &str) -> &Value {
        let service = &self.0["services"][name];
        assert!(service.is_mapping(), "compose has no service {name}");
        service
    }

    /// A service's environment (the mapping form, which this file uses throughout).
    fn environment(&self, name: &str) -> BTreeMap<String, String> {
        let environment = self.service(name)["environment"].as_mapping();
        let environment = environment.unwrap_or_else(|| panic!("{name}: environment is a mapping"));
        environment.iter().map(|(k, v)| (scalar(k), scalar(v))).collect()
    }

    /// Ports published to the host, as (host, container).
    fn published(&self, name: &str) -> Vec<(u16, u16)> {
        strings(&self.service(name)["ports"])
            .iter()
            .map(|mapping| {
                let (host, container) = mapping.rsplit_once(':').expect("HOST:CONTAINER");
                let host = host.rsplit(':').next().unwrap_or(host);
                (host.parse().expect("a host port"), container.parse().expect("a container port"))
            })
            .collect()
    }

    /// Whether compose service `host` runs the gRPC service that listens on `port`.
    fn serves(&self, host: &str, port: u16) -> bool {
        self.services().iter().any(|name| name == host)
            && self.environment(host).get("MART_GRPC_ADDR").is_some_and(|a| a.ends_with(&format!(":{port}")))
    }
}

fn has_merge_key(value: &Value) -> bool {
    match value {
        Value::Mapping(map) => map.contains_key("<<") || map.values().any(has_merge_key),
        Value::Sequence(items) => items.iter().any(has_merge_key),
        _ => false,
    }
}

/// Replaces compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}` in every string
/// by the default (or nothing), and `$$` by `$`; a required `${VAR:?message}` stays as it is.
fn interpolate(value: &mut Value) {
    match value {
        Value::String(text) => *text = interpolated(text),
        Value::Sequence(items) => items.iter_mut().for_each(interpolate),
        Value::Mapping(map) => map.values_mut().for_each(interpolate),
        _ => {}
    }
}

fn interpolated(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').unwrap_or_else(|| panic!("unclosed ${{ in {text:?}"));
            let expression = &inner[..end];
            let name_end =
                expression.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(expression.len());
            let operator = &expression[name_end..];
            if operator.starts_with(":?") || operator.starts_with('?') {
                // Required: compose refuses to start without it; kept as written, for the test.
                out.push_str(&format!("${{{expression}}}"));
            } else if let Some(default) = operator.strip_prefix(":-").or_else(|| operator.strip_prefix('-')) {
                out.push_str(default);
            }
            rest = &inner[end + 1..];
        } else {
            panic!("a bare $ in {text:?}: write ${{VAR}} or $$");
        }
    }
    out.push_str(rest);
    out
}

// === Kubernetes, rendered ===

/// The objects `kubectl kustomize deploy/k8s/<dir>` prints.
struct Manifests {
    objects: Vec<Value>,
}

impl Manifests {
    fn render(dir: &str) -> Self {
        let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".to_owned());
        let path = root().join("deploy/k8s").join(dir);
        let output = match Command::new(&kubectl).arg("kustomize").arg(&path).output() {
            Ok(output) => output,
            Err(error) => panic!(
                "cannot run `{kubectl} kustomize` ({error}): install kubectl (Debian: apt install \
                 kubernetes-client; scripts/test does) or point KUBECTL at one"
            ),
        };
        assert!(output.status.success(), "kubectl kustomize {dir}: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        // kubectl separates the objects with `---` lines.
        let objects: Vec<Value> = text
            .split("\n---\n")
            .map(|document| serde_yaml::from_str::<Value>(document).expect("a YAML document"))
            .filter(|object| !object.is_null())
            .collect();
        assert!(!objects.is_empty(), "kubectl kustomize {dir} rendered nothing");
        Self { objects }
    }

    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |object| kind_of(object) == kind)
    }

    fn find(&self, kind: &str, name: &str) -> &Value {
        let found = self.objects.iter().find(|object| kind_of(object) == kind && name_of(object) == name);
        found.unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    fn container<'a>(&self, deployment: &'a Value, name: &str) -> &'a Value {
        containers(deployment)
            .iter()
            .find(|c| str_at(c, &["name"]) == name)
            .unwrap_or_else(|| panic!("{}: no container {name}", name_of(deployment)))
    }

    /// The shared ConfigMap's data.
    fn config(&self) -> BTreeMap<String, String> {
        let config = self.of_kind("ConfigMap").find(|c| name_of(c).starts_with("mart-config")).expect("mart-config");
        mapping(&config["data"])
    }

    /// A container's variables, with `envFrom` ConfigMaps and `secretKeyRef`s looked up in
    /// the rendered objects (by their generated names: a dangling reference fails here).
    fn environment(&self, container: &Value) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for source in container["envFrom"].as_sequence().into_iter().flatten() {
            let config = self.find("ConfigMap", str_at(source, &["configMapRef", "name"]));
            env.extend(mapping(&config["data"]));
        }
        for variable in container["env"].as_sequence().into_iter().flatten() {
            let name = str_at(variable, &["name"]).to_owned();
            let value = match &variable["valueFrom"]["secretKeyRef"] {
                Value::Null => scalar(&variable["value"]),
                reference => {
                    let secret = self.find("Secret", str_at(reference, &["name"]));
                    let key = str_at(reference, &["key"]);
                    let value = &secret["stringData"][key];
                    assert!(!value.is_null(), "Secret {} has no stringData key {key} (for {name})", name_of(secret));
                    scalar(value)
                }
            };
            env.insert(name, value);
        }
        env
    }

    /// The one Deployment whose pods `selector` selects.
    fn selected(&self, selector: &Value, who: &str) -> &Value {
        let selected: Vec<&Value> = self
            .of_kind("Deployment")
            .filter(|d| labels_match(selector, &d["spec"]["template"]["metadata"]["labels"]))
            .collect();
        assert_eq!(selected.len(), 1, "{who}: selector {selector:?} selects one Deployment's pods");
        selected[0]
    }

    /// Whether Service `host` has `port` and sends it to a container port `port` of the
    /// Deployment it selects.
    fn service_reaches(&self, host: &str, port: u16) -> bool {
        let Some(service) = self.of_kind("Service").find(|s| name_of(s) == host) else { return false };
        let deployment = self.selected(&service["spec"]["selector"], host);
        service["spec"]["ports"].as_sequence().into_iter().flatten().any(|p| {
            let target = if p["targetPort"].is_null() { &p["port"] } else { &p["targetPort"] };
            p["port"].as_u64() == Some(port.into())
                && containers(deployment).iter().any(|c| resolve_port(c, target) == Some(port))
        })
    }
}

fn containers(deployment: &Value) -> &[Value] {
    deployment["spec"]["template"]["spec"]["containers"].as_sequence().map_or(&[], Vec::as_slice)
}

fn init_containers(deployment: &Value) -> &[Value] {
    deployment["spec"]["template"]["spec"]["initContainers"].as_sequence().map_or(&[], Vec::as_slice)
}

/// The container port called `name`.
fn container_port(container: &Value, name: &str) -> Option<u16> {
    let ports = container["ports"].as_sequence()?;
    let port = ports.iter().find(|p| p["name"].as_str() == Some(name))?;
    port["containerPort"].as_u64().and_then(|p| u16::try_from(p).ok())
}

/// A port reference (a number, or a container port's name) as the container port it means.
fn resolve_port(container: &Value, reference: &Value) -> Option<u16> {
    let number = match reference {
        Value::String(name) => return container_port(container, name),
        other => other.as_u64().and_then(|p| u16::try_from(p).ok())?,
    };
    let ports = container["ports"].as_sequence()?;
    ports.iter().any(|p| p["containerPort"].as_u64() == Some(number.into())).then_some(number)
}

/// Whether every label of `selector` is among `labels` (and there is at least one).
fn labels_match(selector: &Value, labels: &Value) -> bool {
    let selector = mapping(selector);
    let labels = mapping(labels);
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn annotation<'a>(deployment: &'a Value, key: &str) -> &'a str {
    deployment["spec"]["template"]["metadata"]["annotations"][key].as_str().unwrap_or_default()
}

// === small readers ===

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned()
}

fn service_name(service: Service) -> String {
    format!("svc-{}", service.name())
}

fn kind_of(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

/// The string at `path`, or a failure naming the path.
fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let found = path.iter().fold(value, |value, key| &value[*key]);
    found.as_str().unwrap_or_else(|| panic!("no string at {path:?} in {value:?}"))
}

/// A scalar as text (numbers and booleans as YAML writes them).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn strings(value: &Value) -> Vec<String> {
    value.as_sequence().into_iter().flatten().map(scalar).collect()
}

fn mapping(value: &Value) -> BTreeMap<String, String> {
    value.as_mapping().into_iter().flatten().map(|(k, v)| (scalar(k), scalar(v))).collect()
}

/// Whether a health check command is `mart probe` (exec form, no shell).
fn is_probe(test: &Value) -> bool {
    strings(test) == ["CMD", "mart", "probe"]
}

/// `postgres://user:pass@host:port/<database>?…` → the database.
fn database_name(url: &str) -> String {
    let path = url.rsplit_once('/').map(|(_, db)| db).unwrap_or_default();
    path.split('?').next().unwrap_or_default().to_owned()
}

/// `64Mi` → 64.
fn mebibytes(quantity: &str) -> u64 {
    quantity.strip_suffix("Mi").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{quantity}: expected …Mi"))
}

/// The databases deploy/postgres/'s init scripts create.
fn init_databases() -> BTreeSet<String> {
    let dir = root().join("deploy/postgres");
    let mut databases = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("deploy/postgres") {
        let text = std::fs::read_to_string(entry.expect("an entry").path()).expect("an init script");
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("CREATE DATABASE ") {
                databases.insert(rest.trim_end_matches(';').trim().to_owned());
            }
        }
    }
    assert!(!databases.is_empty(), "deploy/postgres creates no database");
    databases
}

/// Every `"NAME_LIKE_THIS"` string literal in platform/src and in each service's and the
/// edge's own `config.rs`: the variables they read (the shared ones in platform, each
/// crate's own knobs in its crate; the scan takes the whole of platform so a variable read
/// elsewhere in it counts too).
fn read_variables() -> BTreeSet<String> {
    fn scan_file(path: &Path, found: &mut BTreeSet<String>) {
        let text = std::fs::read_to_string(path).expect("a source file");
        for (at, _) in text.match_indices('"') {
            let name: String = text[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let closed = text[at + 1 + name.len()..].starts_with('"');
            if closed && name.len() > 2 && name.contains('_') {
                found.insert(name);
            }
        }
    }
    fn scan(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("a source directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                scan(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                scan_file(&path, found);
            }
        }
    }
    let mut found = BTreeSet::new();
    scan(&root().join("platform/src"), &mut found);
    for krate in Service::ALL.map(Service::process_name).into_iter().chain(["edge"]) {
        let own = root().join(krate).join("src/config.rs");
        assert!(own.is_file(), "{krate} keeps its own knobs in src/config.rs");
        scan_file(&own, &mut found);
    }
    assert!(found.contains("DATABASE_URL") && found.contains("MART_GRPC_ADDR"), "the scan finds the variables");
    found
}
