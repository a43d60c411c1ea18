//! The GraphQL schema: one module per domain, merged into the roots here.

pub mod catalog;
pub mod codes;
pub mod context;
pub mod controls;
pub mod cost;
pub mod desk;
pub mod directory;
pub mod documents;
pub mod eligibility;
pub mod events;
pub mod exams;
pub mod extensions;
pub mod fragments;
pub mod kpis;
pub mod leaves;
pub mod limits;
pub mod listings;
pub mod loaders;
pub mod memberships;
pub mod merges;
pub mod node;
pub mod notices;
pub mod order;
pub mod orders;
pub mod organizations;
pub mod passed_exams;
pub mod persisted;
pub mod prescan;
pub mod relay;
pub mod renewals;
pub mod reviews;
pub mod scalars;
pub mod subscriptions;
pub mod trusted;
pub mod webhooks;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

use crate::config::LimitArgs;

/// The root query type.
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    catalog::CatalogQuery,
    exams::ExamQuery,
    extensions::ExtensionQuery,
    directory::DirectoryQuery,
    organizations::OrganizationQuery,
    orders::OrderQuery,
    codes::CodeQuery,
    memberships::MembershipQuery,
    eligibility::EligibilityQuery,
    passed_exams::PassedExamQuery,
    listings::ListingQuery,
    renewals::RenewalQuery,
    merges::MergeQuery,
    kpis::KpiQuery,
    events::EventQuery,
    notices::NoticeQuery,
    webhooks::WebhookQuery,
);

/// The root mutation type.
#[derive(MergedObject, Default)]
pub struct Mutation(
    catalog::CatalogMutation,
    exams::ExamMutation,
    organizations::OrganizationMutation,
    desk::DeskMutation,
    reviews::ReviewMutation,
    extensions::ExtensionMutation,
    directory::DirectoryMutation,
    orders::OrderMutation,
    codes::CodeMutation,
    memberships::MembershipMutation,
    eligibility::EligibilityMutation,
    passed_exams::PassedExamMutation,
    listings::ListingMutation,
    merges::MergeMutation,
    kpis::KpiMutation,
    notices::NoticeMutation,
    webhooks::WebhookMutation,
);

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, subscriptions::SubscriptionRoot>;

/// The schema with its limits, without per-process data: enough to print
/// the SDL, and the base of [`crate::AppState`]'s schema.
pub fn schema_builder(limits: &LimitArgs) -> SchemaBuilder<Query, Mutation, subscriptions::SubscriptionRoot> {
    Schema::build(Query::default(), Mutation::default(), subscriptions::SubscriptionRoot)
        .limit_complexity(limits.max_complexity)
        .limit_directives(limits.max_directives)
        .disable_suggestions()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder(&LimitArgs::default()).finish().sdl()
}
