//! The API resource (group, version, plural) of every kind a build emits,
//! from the same k8s-openapi types lowering uses, and their JSON.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use std::sync::LazyLock;

use kube::core::ApiResource;

use koalja_compiler::lower::Object;

/// Every kind a build emits, in apply order (the order of `lower::Object`).
/// Made once: every apply and every listing looks its resource up here.
pub fn all() -> &'static [ApiResource] {
    static ALL: LazyLock<Vec<ApiResource>> = LazyLock::new(|| {
        vec![
            ApiResource::erase::<ServiceAccount>(&()),
            ApiResource::erase::<Role>(&()),
            ApiResource::erase::<RoleBinding>(&()),
            ApiResource::erase::<ConfigMap>(&()),
            ApiResource::erase::<PersistentVolumeClaim>(&()),
            ApiResource::erase::<Service>(&()),
            ApiResource::erase::<NetworkPolicy>(&()),
            ApiResource::erase::<StatefulSet>(&()),
            ApiResource::erase::<Deployment>(&()),
        ]
    });
    &ALL
}

/// Is this kind the pipeline's data? Claims are never pruned, and deleted
/// only when asked (`koaljac delete --delete-data`).
pub fn holds_data(resource: &ApiResource) -> bool {
    resource.kind == "PersistentVolumeClaim"
}

/// Is `kind` a workload, whose rollout `deploy` waits for?
pub fn is_workload(kind: &str) -> bool {
    matches!(kind, "StatefulSet" | "Deployment")
}

/// The resource of `object`'s kind.
pub fn of(object: &Object) -> &'static ApiResource {
    let kind = object.kind();
    all().iter().find(|resource| resource.kind == kind).expect("every lower::Object kind is listed in all()")
}

/// `Kind namespace/name`, how messages name an object.
pub fn describe(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind} {namespace}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_the_ones_the_api_serves() {
        let by_kind = |kind: &str| all().iter().find(|r| r.kind == kind).unwrap();
        let statefulsets = by_kind("StatefulSet");
        assert_eq!((statefulsets.group.as_str(), statefulsets.version.as_str()), ("apps", "v1"));
        assert_eq!(statefulsets.plural, "statefulsets");
        assert_eq!(by_kind("NetworkPolicy").api_version, "networking.k8s.io/v1");
        assert_eq!(by_kind("ConfigMap").api_version, "v1");
        assert!(holds_data(by_kind("PersistentVolumeClaim")));
    }
}
