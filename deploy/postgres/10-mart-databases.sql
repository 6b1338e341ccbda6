-- One database per service (DESIGN.md §1: no service reads another's tables). The official
-- postgres image runs this once, when its data volume is empty, as POSTGRES_USER (`mart` in
-- deploy/compose.yaml), who therefore owns them all. Each service creates its own tables
-- at start-up (its migrations); nothing else is needed here.
--
-- In production give each service its own role owning only its database; the URLs in the
-- Kubernetes Secret (deploy/k8s/base/secret.yaml) are written that way.
CREATE DATABASE mart_user;
CREATE DATABASE mart_product;
CREATE DATABASE mart_order;
CREATE DATABASE mart_inventory;
CREATE DATABASE mart_notify;
CREATE DATABASE mart_payment;
