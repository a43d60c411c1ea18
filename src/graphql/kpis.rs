//! KPI records in GraphQL: the records and their sums, the desk's
//! recording, import and correction, and a partner's disputes.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entity::{
    enums::{DocumentType, FactReview as Status},
    kpi_dispute, kpi_record,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    domain::kpis,
    error::{AppError, GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        desk::{Change, history_of},
        relay::{IdConnection, TotalCount, connection, connection_cost, id_arg, input_row, page_request},
        reviews::FactReview,
        scalars::{BigInt, Date, Instant, count, int},
    },
    id,
    service::{
        catalog,
        history::Subject,
        kpi_import::{ImportLine, LineStatus},
        kpis::{self as service, Correction, DisputeInput, Figures},
        memberships::partner,
        page,
    },
};

/// A KPI record, backed by an invoice.
pub struct KpiRecord(pub kpi_record::Model);

/// A KPI record, backed by an invoice.
#[Object]
impl KpiRecord {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("KpiRecord", self.0.id))
    }
    /// The invoice's date: visibility and the renewal window count days.
    async fn invoiced_on(&self) -> Date {
        self.0.invoiced_on.into()
    }
    /// The invoice's year.
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// The invoice's month, 1..12.
    async fn month(&self) -> i32 {
        self.0.month
    }
    /// The OMLP type.
    async fn omlp_type(&self) -> &str {
        &self.0.omlp_type
    }
    /// The purchase unit.
    async fn purchase_unit(&self) -> &str {
        &self.0.purchase_unit
    }
    /// Always INVOICE: nothing else is recorded.
    async fn document_type(&self) -> DocumentType {
        DocumentType::Invoice
    }
    /// The invoice number, counted once.
    async fn invoice_number(&self) -> &str {
        &self.0.invoice_number
    }
    /// The KPI value (independent of training length, R-28).
    async fn kpi_value(&self) -> Result<i32> {
        int(self.0.kpi_value)
    }
    /// The revenue, in cents.
    async fn revenue_cents(&self) -> Result<i32> {
        int(self.0.revenue_cents)
    }
    /// The first day reports show it: the 15th of the month after the invoice's.
    async fn visible_from(&self) -> Option<Date> {
        kpis::visible_from(self.0.invoiced_on).map(Date::from)
    }
    /// When it was recorded.
    async fn recorded_at(&self) -> Instant {
        Instant(self.0.recorded_at)
    }
    /// Where it stands with the desk: a partner's record counts once the
    /// desk verifies it.
    async fn review(&self) -> FactReview {
        let k = &self.0;
        FactReview::of(k.review, &k.reviewed_by, k.reviewed_at, &k.rejection_reason)
    }
    /// The desk's corrections, and accepted disputes, newest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many of the latest, 1..100.", default = 20)] first: i32,
    ) -> Result<Vec<Change>> {
        history_of(ctx, Subject::KpiRecord(self.0.id), first).await
    }
}

/// A partner's dispute of a KPI figure, or its claim of an invoice the desk
/// has not recorded: it counts for nothing until the desk accepts it.
pub struct KpiDispute(pub kpi_dispute::Model);

/// A partner's dispute of a KPI figure.
#[Object]
impl KpiDispute {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("KpiDispute", self.0.id))
    }
    /// The partner.
    async fn organization_id(&self) -> ID {
        ID(id::encode("Organization", self.0.organization_id))
    }
    /// The record contested; null for an invoice not recorded yet.
    async fn record(&self, ctx: &Context<'_>) -> Result<Option<KpiRecord>> {
        let Some(record) = self.0.record_id else { return Ok(None) };
        let row = kpi_record::Entity::find_by_id(record)
            .filter(kpi_record::Column::OrganizationId.eq(self.0.organization_id))
            .one(ctx.db().gql()?)
            .await
            .map_err(|e| AppError::from(e).into_graphql())?;
        Ok(row.map(KpiRecord))
    }
    /// The invoice's date, as the partner says.
    async fn invoiced_on(&self) -> Date {
        self.0.invoiced_on.into()
    }
    /// The OMLP type, as the partner says.
    async fn omlp_type(&self) -> &str {
        &self.0.omlp_type
    }
    /// The purchase unit, as the partner says.
    async fn purchase_unit(&self) -> &str {
        &self.0.purchase_unit
    }
    /// The invoice number, as the partner says.
    async fn invoice_number(&self) -> &str {
        &self.0.invoice_number
    }
    /// The KPI value, as the partner says.
    async fn kpi_value(&self) -> Result<i32> {
        int(self.0.kpi_value)
    }
    /// The revenue in cents, as the partner says.
    async fn revenue_cents(&self) -> Result<i32> {
        int(self.0.revenue_cents)
    }
    /// The partner's explanation.
    async fn explanation(&self) -> Option<&str> {
        self.0.explanation.as_deref()
    }
    /// Who submitted it.
    async fn submitted_by(&self) -> &str {
        &self.0.submitted_by
    }
    /// When.
    async fn submitted_at(&self) -> Instant {
        Instant(self.0.submitted_at)
    }
    /// The desk's decision: PENDING, VERIFIED (accepted) or REJECTED with a reason.
    async fn review(&self) -> FactReview {
        let d = &self.0;
        FactReview::of(d.status, &d.reviewed_by, d.reviewed_at, &d.rejection_reason)
    }
    /// The record the accepted dispute corrected or created.
    async fn result_record_id(&self) -> Option<ID> {
        self.0.result_record_id.map(|r| ID(id::encode("KpiRecord", r)))
    }
}

/// KPIs counting towards a renewal: invoices dated in the 12 months
/// before the anniversary and visible on the day of evaluation.
#[derive(SimpleObject)]
pub struct KpiTotal {
    /// The anniversary the window ends before.
    pub anniversary: Date,
    /// The window's first day: the anniversary minus 12 months.
    pub window_starts_on: Date,
    /// The window's last day: the day before the anniversary.
    pub window_ends_on: Date,
    /// The day of evaluation: only invoices visible by then count.
    pub as_of: Date,
    /// Sum of the KPI values.
    pub kpi_value: BigInt,
    /// Sum of the revenue, in cents.
    pub revenue_cents: BigInt,
    /// How many invoices counted.
    pub invoices: i32,
}

impl KpiTotal {
    pub fn from_service(t: service::KpiTotal) -> Result<Self> {
        let (start, end) =
            kpis::window(t.anniversary).ok_or_else(|| AppError::internal("no KPI window").into_graphql())?;
        Ok(Self {
            anniversary: t.anniversary.into(),
            window_starts_on: start.into(),
            window_ends_on: end.into(),
            as_of: t.as_of.into(),
            kpi_value: BigInt(t.kpi_value),
            revenue_cents: BigInt(t.revenue_cents),
            invoices: count(t.invoices),
        })
    }
}

/// KPI queries.
#[derive(Default)]
pub struct KpiQuery;

#[Object]
impl KpiQuery {
    /// A partner's KPI records visible on `asOf` (default today): an invoice
    /// dated in month M shows from the 15th of M+1. Empty when the
    /// partner is not the caller's.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments, reason = "GraphQL arguments")]
    async fn kpis(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner.")] organization_id: ID,
        #[graphql(desc = "The day of the report (default today).")] as_of: Option<Date>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<IdConnection<KpiRecord>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.signed_in().gql()?.clone();
        let org = id_arg("Organization", "organizationId", &organization_id).gql()?;
        let day = ctx.day_or_today(as_of).gql()?;
        let db = ctx.db().gql()?.clone();
        let page = service::list_kpis(&db, &viewer, org, day, request).await.gql()?;
        let total = TotalCount::new(move || {
            let (db, viewer) = (db.clone(), viewer.clone());
            async move { catalog::count(&db, service::kpis_query(&viewer, org, day)).await }
        });
        Ok(connection(page, |k| k.id, KpiRecord, total))
    }

    /// A partner's KPIs counting towards the renewal at `anniversary`
    /// (default `asOf`), evaluated on `asOf` (default today): verified
    /// invoices dated anniversary - 12 months ..= anniversary - 1 day and
    /// visible by then. Null when the partner is not the caller's.
    async fn kpi_total(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner.")] organization_id: ID,
        #[graphql(desc = "The day of evaluation (default today).")] as_of: Option<Date>,
        #[graphql(desc = "The anniversary the window ends before (default asOf).")] anniversary: Option<Date>,
    ) -> Result<Option<KpiTotal>> {
        let viewer = ctx.signed_in().gql()?;
        let org = id_arg("Organization", "organizationId", &organization_id).gql()?;
        let day = ctx.day_or_today(as_of).gql()?;
        let db = ctx.db().gql()?;
        if partner(db, viewer, org).await.gql()?.is_none() {
            return Ok(None);
        }
        let anniversary = anniversary.map_or(day, |a| a.0);
        let total = service::kpi_total(db, org, anniversary, day).await.gql()?;
        Ok(Some(KpiTotal::from_service(total)?))
    }

    /// KPI disputes, newest last: a partner administrator sees its own
    /// partner's, an admin everyone's.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments, reason = "GraphQL arguments")]
    async fn kpi_disputes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this partner's.")] organization_id: Option<ID>,
        #[graphql(desc = "Only those in this state (PENDING: waiting for the desk).")] status: Option<Status>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<IdConnection<KpiDispute>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.signed_in().gql()?.clone();
        let org = organization_id.map(|o| id_arg("Organization", "organizationId", &o)).transpose().gql()?;
        let db = ctx.db().gql()?.clone();
        let query = move |viewer: &crate::auth::Viewer| {
            let select = service::disputes_query(viewer, org);
            match status {
                Some(s) => select.filter(kpi_dispute::Column::Status.eq(s)),
                None => select,
            }
        };
        let fetched = page::fetch(&db, query(&viewer), kpi_dispute::Column::Id, request).await;
        let page = fetched.map_err(AppError::from).gql()?;
        let total = TotalCount::new(move || {
            let (db, viewer) = (db.clone(), viewer.clone());
            async move { catalog::count(&db, query(&viewer)).await }
        });
        Ok(connection(page, |d| d.id, KpiDispute, total))
    }
}

/// Input of `recordKpi`.
#[derive(InputObject)]
pub struct RecordKpiInput {
    /// The partner.
    pub organization_id: ID,
    /// The invoice's date (required: the windows count days).
    pub invoiced_on: Option<Date>,
    /// The invoice's year; when given, the date's.
    pub year: Option<i32>,
    /// The invoice's month, 1..12; when given, the date's.
    pub month: Option<i32>,
    /// The OMLP type.
    pub omlp_type: String,
    /// The purchase unit.
    pub purchase_unit: String,
    /// The document behind the record: only INVOICE is accepted.
    pub document_type: DocumentType,
    /// The invoice number; an invoice is recorded once.
    pub invoice_number: String,
    /// The KPI value, 0 or more (a 32-bit `Int`).
    pub kpi_value: i32,
    /// The revenue, in cents, 0 or more (a 32-bit `Int`: up to 21 474 836.47
    /// on one invoice).
    pub revenue_cents: i32,
}

/// Input of `disputeKpi`: the seven fields and the invoice's date.
#[derive(InputObject)]
pub struct DisputeKpiInput {
    /// The partner.
    pub organization_id: ID,
    /// The record contested; leave out for an invoice the desk has not recorded.
    pub record_id: Option<ID>,
    /// The invoice's date.
    pub invoiced_on: Date,
    /// The OMLP type.
    pub omlp_type: String,
    /// The purchase unit.
    pub purchase_unit: String,
    /// The document: only INVOICE is accepted.
    pub document_type: DocumentType,
    /// The invoice number.
    pub invoice_number: String,
    /// The KPI value, 0 or more.
    pub kpi_value: i32,
    /// The revenue, in cents, 0 or more.
    pub revenue_cents: i32,
    /// Why the figure is wrong (at most 500 characters).
    pub explanation: Option<String>,
}

/// Input of `correctKpiRecord`: what is given changes, what is left out stays.
#[derive(InputObject)]
pub struct CorrectKpiRecordInput {
    /// The record.
    pub id: ID,
    /// The invoice's date.
    pub invoiced_on: Option<Date>,
    /// The OMLP type.
    pub omlp_type: Option<String>,
    /// The purchase unit.
    pub purchase_unit: Option<String>,
    /// The invoice number.
    pub invoice_number: Option<String>,
    /// The KPI value, 0 or more.
    pub kpi_value: Option<i32>,
    /// The revenue, in cents, 0 or more.
    pub revenue_cents: Option<i32>,
    /// Why, kept in the record's history (required, at most 500 characters).
    pub reason: String,
}

/// Input of `importKpiRecords`.
#[derive(InputObject)]
pub struct ImportKpiRecordsInput {
    /// The CSV text, with a header naming organizationId, invoicedOn,
    /// omlpType, purchaseUnit, documentType, invoiceNumber, kpiValue and
    /// revenueCents (other columns are ignored); at most 10 000 lines.
    pub csv: String,
}

/// Result of `recordKpi` and `correctKpiRecord`.
#[derive(SimpleObject)]
pub struct KpiRecordPayload {
    /// The record, when accepted.
    pub kpi: Option<KpiRecord>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

crate::graphql::relay::payload_from_outcome!(KpiRecordPayload { kpi: KpiRecord(kpi_record::Model) });

/// Result of `disputeKpi`.
#[derive(SimpleObject)]
pub struct KpiDisputePayload {
    /// The dispute, when submitted.
    pub dispute: Option<KpiDispute>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

crate::graphql::relay::payload_from_outcome!(KpiDisputePayload { dispute: KpiDispute(kpi_dispute::Model) });

/// What became of a line of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum KpiImportStatus {
    /// Recorded, verified.
    Imported,
    /// Wrong: see its errors.
    Refused,
    /// Right, but not recorded because another line was refused.
    NotImported,
}

/// One line of an import's report.
#[derive(SimpleObject)]
pub struct KpiImportLine {
    /// The line in the file (the header is line 1).
    pub line: i32,
    /// The partner named on the line, when it was a partner id.
    pub organization_id: Option<ID>,
    /// The invoice number on the line.
    pub invoice_number: Option<String>,
    /// What became of it.
    pub status: KpiImportStatus,
    /// What is wrong with it.
    pub user_errors: Vec<UserError>,
}

impl From<ImportLine> for KpiImportLine {
    fn from(l: ImportLine) -> Self {
        Self {
            line: i32::try_from(l.line).unwrap_or(i32::MAX),
            organization_id: l.organization_id.map(|o| ID(id::encode("Organization", o))),
            invoice_number: l.invoice_number,
            status: match l.status {
                LineStatus::Imported => KpiImportStatus::Imported,
                LineStatus::Refused => KpiImportStatus::Refused,
                LineStatus::NotImported => KpiImportStatus::NotImported,
            },
            user_errors: l.errors,
        }
    }
}

/// Result of `importKpiRecords`: every line recorded, or none.
#[derive(SimpleObject)]
pub struct ImportKpiRecordsPayload {
    /// How many records were recorded: every line's, or 0.
    pub imported: i32,
    /// Each data line, in the file's order.
    pub lines: Vec<KpiImportLine>,
    /// Why nothing was imported; empty on success.
    pub user_errors: Vec<UserError>,
}

/// KPI mutations.
#[derive(Default)]
pub struct KpiMutation;

#[Object]
impl KpiMutation {
    /// Records a KPI backed by an invoice. The desk's record counts
    /// at once; a partner administrator's is PENDING until the desk verifies
    /// it. Order confirmations and partner reports are refused
    /// (NOT_AN_INVOICE), an invoice number is recorded once
    /// (DUPLICATE_INVOICE), the invoice's date is required.
    async fn record_kpi(&self, ctx: &Context<'_>, input: RecordKpiInput) -> Result<KpiRecordPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let organization_id = input_row!("Organization", "organizationId", &input.organization_id);
        let figures = Figures {
            invoiced_on: input.invoiced_on.map(|d| d.0),
            year: input.year,
            month: input.month,
            omlp_type: input.omlp_type,
            purchase_unit: input.purchase_unit,
            document_type: input.document_type,
            invoice_number: input.invoice_number,
            kpi_value: input.kpi_value.into(),
            revenue_cents: input.revenue_cents.into(),
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::record_kpi(ctx.db().gql()?, viewer, now, organization_id, figures).await.gql()?.into())
    }

    /// A partner disputes a KPI figure, or claims an invoice the desk has
    /// not recorded: the seven fields and the invoice's date. It
    /// counts for nothing until the desk accepts it (`verifyPartnerFact`).
    async fn dispute_kpi(&self, ctx: &Context<'_>, input: DisputeKpiInput) -> Result<KpiDisputePayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let organization_id = input_row!("Organization", "organizationId", &input.organization_id);
        let record_id = match &input.record_id {
            Some(r) => Some(input_row!("KpiRecord", "recordId", r)),
            None => None,
        };
        let dispute = DisputeInput {
            organization_id,
            record_id,
            figures: Figures {
                invoiced_on: Some(input.invoiced_on.0),
                year: None,
                month: None,
                omlp_type: input.omlp_type,
                purchase_unit: input.purchase_unit,
                document_type: input.document_type,
                invoice_number: input.invoice_number,
                kpi_value: input.kpi_value.into(),
                revenue_cents: input.revenue_cents.into(),
            },
            explanation: input.explanation,
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::dispute_kpi(ctx.db().gql()?, viewer, now, dispute).await.gql()?.into())
    }

    /// The desk corrects a wrong KPI record (admin, R-28): each changed
    /// field is kept in the record's `history` with who, when and why.
    async fn correct_kpi_record(&self, ctx: &Context<'_>, input: CorrectKpiRecordInput) -> Result<KpiRecordPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let id = input_row!("KpiRecord", "id", &input.id);
        let correction = Correction {
            invoiced_on: input.invoiced_on.map(|d| d.0),
            omlp_type: input.omlp_type,
            purchase_unit: input.purchase_unit,
            invoice_number: input.invoice_number,
            kpi_value: input.kpi_value.map(i64::from),
            revenue_cents: input.revenue_cents.map(i64::from),
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::correct_kpi(ctx.db().gql()?, viewer, now, id, correction, input.reason).await.gql()?.into())
    }

    /// The desk imports KPI records from a CSV of marketplace purchases
    /// (admin, R-28): every line is checked as `recordKpi` would, and either
    /// all are recorded, verified, or none is; the report lists every line.
    async fn import_kpi_records(
        &self,
        ctx: &Context<'_>,
        input: ImportKpiRecordsInput,
    ) -> Result<ImportKpiRecordsPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let now = ctx.clock().gql()?.now();
        let report = service::import_kpis(ctx.db().gql()?, viewer, now, &input.csv).await.gql()?;
        Ok(ImportKpiRecordsPayload {
            imported: count(i64::try_from(report.imported).unwrap_or(i64::MAX)),
            lines: report.lines.into_iter().map(Into::into).collect(),
            user_errors: report.errors,
        })
    }
}
