//! The Relay `Node` interface and the `node`/`nodes`/`viewer` queries.
//!
//! `node(id)` answers exactly as a missing id would for anything the caller
//! may not see: a malformed id, an unknown type, a missing row and
//! someone else's row all give `null`.

use std::collections::BTreeSet;

use async_graphql::{Context, ID, Interface, Object, Result};

use crate::{
    auth::{Role, Viewer},
    error::{AppError, GqlResultExt},
    graphql::{
        catalog::{Package, Program, package_visible, program_visible},
        codes::Code,
        context::ContextExt,
        loaders::{PackageId, ProgramId, loader_error},
        memberships::Membership,
        orders::Order,
        organizations::{Agreement, Organization},
    },
    id,
    service::{codes, memberships, orders, organizations},
};

/// Most ids one `nodes` call may ask for.
pub const MAX_NODES: usize = 100;

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    /// A licensing program.
    Program(Program),
    /// A package.
    Package(Package),
    /// An organization.
    Organization(Organization),
    /// An agreement.
    Agreement(Agreement),
    /// An order.
    Order(Order),
    /// A code.
    Code(Code),
    /// A partner membership.
    Membership(Membership),
}

async fn load_node(ctx: &Context<'_>, viewer: &Viewer, global: &str) -> Result<Option<Node>> {
    let Some((kind, row)) = id::decode(global) else { return Ok(None) };
    let loaders = ctx.loaders().gql()?;
    Ok(match kind.as_str() {
        "Program" => loaders
            .load_one(ProgramId(row))
            .await
            .map_err(loader_error)?
            .filter(|p| program_visible(viewer, p))
            .map(|p| Node::Program(Program(p))),
        "Package" => loaders
            .load_one(PackageId(row))
            .await
            .map_err(loader_error)?
            .filter(|p| package_visible(viewer, p))
            .map(|p| Node::Package(Package(p))),
        // Organization-scoped objects: the same scoped look-ups as the
        // queries, so someone else's object is simply not there.
        "Organization" if viewer.is_authenticated() => organizations::organization(ctx.db().gql()?, viewer, row)
            .await
            .gql()?
            .map(|o| Node::Organization(Organization(o))),
        "Agreement" if viewer.is_authenticated() => {
            organizations::agreement(ctx.db().gql()?, viewer, row).await.gql()?.map(|a| Node::Agreement(Agreement(a)))
        }
        "Order" if viewer.is_authenticated() => {
            orders::order(ctx.db().gql()?, viewer, row).await.gql()?.map(|o| Node::Order(Order(o)))
        }
        "Code" if viewer.is_authenticated() => {
            codes::code(ctx.db().gql()?, viewer, row).await.gql()?.map(|c| Node::Code(Code::from(c)))
        }
        "Membership" if viewer.is_authenticated() => {
            memberships::membership(ctx.db().gql()?, viewer, row).await.gql()?.map(|m| Node::Membership(Membership(m)))
        }
        _ => None,
    })
}

/// The caller, as the server sees it.
pub struct ViewerInfo(Viewer);

/// The caller, as the server sees it.
#[Object(name = "Viewer")]
impl ViewerInfo {
    /// Whether the request carried a valid token.
    async fn authenticated(&self) -> bool {
        self.0.is_authenticated()
    }

    /// The token's subject (`sub`); null when anonymous.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// Roles in force for this request (narrowed by `X-Licensegraph-Role`).
    async fn roles(&self) -> Vec<Role> {
        let roles: &BTreeSet<Role> = &self.0.roles;
        roles.iter().copied().collect()
    }

    /// The organization the caller acts for, if any.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|org| ID(id::encode("Organization", org)))
    }
}

/// `node`, `nodes` and `viewer`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when it does not exist or is not
    /// visible to the caller.
    async fn node(&self, ctx: &Context<'_>, #[graphql(desc = "A global id.")] id: ID) -> Result<Option<Node>> {
        let viewer = ctx.viewer().gql()?;
        load_node(ctx, viewer, &id).await
    }

    /// Objects by global id, in the order asked (at most 100); null for each
    /// one that does not exist or is not visible.
    #[graphql(complexity = "ids.len().saturating_mul(child_complexity).saturating_add(1)")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids (at most 100).")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(AppError::bad_input(format!("at most {MAX_NODES} ids per call")).into_graphql());
        }
        let viewer = ctx.viewer().gql()?;
        let lookups = ids.iter().map(|id| load_node(ctx, viewer, id));
        futures_util::future::try_join_all(lookups).await
    }

    /// Who is calling.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<ViewerInfo> {
        Ok(ViewerInfo(ctx.viewer().gql()?.clone()))
    }
}
