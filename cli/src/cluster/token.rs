//! The pipeline's link credential on a cluster: the Secret
//! `<pipeline>-token` (`lower::token_secret`) that every pod mounts. A build
//! never holds it; `deploy` creates it once, with a random token, and never
//! changes or prints it; `delete` removes it; `drop`, `fetch` and `status`
//! read it to reach the gateway.
//!
//! Made with a create, not an apply: two deploys at once must not both
//! write a token (the second would replace the one the first pods read);
//! the create that loses gets 409 and keeps what is there.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use kube::core::ApiResource;

use super::apply::{carries_pipeline_labels, Action, Step};
use super::errors::Attempt;
use super::{Cluster, ClusterError};
use koalja_agent::auth::Credential;
use koalja_compiler::lower::{pipeline_labels, token_secret, COMPONENT, TOKEN_KEY};

fn resource() -> ApiResource {
    ApiResource::erase::<Secret>(&())
}

/// The kind of the token's steps among a deploy's.
pub const KIND: &str = "Secret";

fn step(pipeline: &str, action: Action) -> Step {
    Step { kind: KIND.to_owned(), name: token_secret(pipeline), action, changes: Vec::new() }
}

/// Makes the Secret unless it is there (`dry_run`: only says whether it
/// would be made).
pub async fn ensure(cluster: &Cluster, namespace: &str, pipeline: &str, dry_run: bool) -> Result<Step, ClusterError> {
    let name = token_secret(pipeline);
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let resource = resource();
    let failed =
        |verb: &'static str, error| Attempt::on(&cluster.name, verb, &resource, namespace, &name).failed(error);
    if api.get_opt(&name).await.map_err(|e| failed("get", e))?.is_some() {
        return Ok(step(pipeline, Action::Unchanged));
    }
    let credential = Credential::random().map_err(ClusterError::Config)?;
    let mut labels = pipeline_labels(pipeline);
    labels.insert(COMPONENT.to_owned(), "token".to_owned());
    let secret = Secret {
        metadata: ObjectMeta { name: Some(name.clone()), labels: Some(labels), ..ObjectMeta::default() },
        type_: Some("Opaque".to_owned()),
        data: Some([(TOKEN_KEY.to_owned(), ByteString(credential.token().as_bytes().to_vec()))].into()),
        ..Secret::default()
    };
    match api.create(&PostParams { dry_run, ..PostParams::default() }, &secret).await {
        Ok(_) => Ok(step(pipeline, Action::Create)),
        // Another deploy made it first: that one is the pipeline's.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(step(pipeline, Action::Unchanged)),
        Err(error) => Err(failed("create", error)),
    }
}

/// The pipeline's credential, as its pods read it.
pub async fn read(cluster: &Cluster, namespace: &str, pipeline: &str) -> Result<Credential, ClusterError> {
    let name = token_secret(pipeline);
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let resource = resource();
    let secret = match api.get(&name).await {
        Ok(secret) => secret,
        Err(kube::Error::Api(status)) if status.code == 404 => {
            return Err(ClusterError::Refused {
                verb: "get",
                object: format!("Secret {namespace}/{name}"),
                code: 404,
                message: format!("the pipeline's link token is missing: is `{pipeline}` deployed (koaljac deploy)?"),
            })
        }
        Err(error) => return Err(Attempt::on(&cluster.name, "get", &resource, namespace, &name).failed(error)),
    };
    let token = secret.data.as_ref().and_then(|data| data.get(TOKEN_KEY)).map(|bytes| bytes.0.clone());
    let text = token.and_then(|bytes| String::from_utf8(bytes).ok()).unwrap_or_default();
    Credential::new(&text).map_err(|e| ClusterError::Refused {
        verb: "get",
        object: format!("Secret {namespace}/{name}"),
        code: 0,
        message: format!("key `{TOKEN_KEY}`: {e}"),
    })
}

/// Deletes the Secret, if it is the pipeline's (it carries its labels).
pub async fn delete(cluster: &Cluster, namespace: &str, pipeline: &str) -> Result<Option<Step>, ClusterError> {
    let name = token_secret(pipeline);
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let resource = resource();
    let failed =
        |verb: &'static str, error| Attempt::on(&cluster.name, verb, &resource, namespace, &name).failed(error);
    let Some(secret) = api.get_opt(&name).await.map_err(|e| failed("get", e))? else { return Ok(None) };
    if !carries_pipeline_labels(secret.metadata.labels.as_ref(), pipeline) {
        return Ok(None);
    }
    match api.delete(&name, &DeleteParams::background()).await {
        Ok(_) => Ok(Some(step(pipeline, Action::Delete))),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(error) => Err(failed("delete", error)),
    }
}
