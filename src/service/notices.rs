//! The `notices` the server sent or tried to: to whom, what,
//! when and how it went. Admins read every one; an organization's customer
//! or partner administrators read those about their organization.

use entity::notice;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};

use crate::{auth::Viewer, service::scope};

/// Filters of `notices`.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    pub organization_id: Option<i64>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub event_id: Option<i64>,
}

/// The notices the viewer may read, matching `filter`.
pub fn notices_query(viewer: &Viewer, filter: &NoticeFilter) -> Select<notice::Entity> {
    let mut select = notice::Entity::find().filter(scope::events(viewer, notice::Column::OrganizationId));
    if let Some(org) = filter.organization_id {
        select = select.filter(notice::Column::OrganizationId.eq(org));
    }
    if let Some(kind) = &filter.kind {
        select = select.filter(notice::Column::Kind.eq(kind.as_str()));
    }
    if let Some(status) = &filter.status {
        select = select.filter(notice::Column::Status.eq(status.as_str()));
    }
    if let Some(event) = filter.event_id {
        select = select.filter(notice::Column::EventId.eq(event));
    }
    select
}
