// Uses the types graphql-codegen generated from the README's operations
// (clients/gql/, by clients/run.sh), so that tsc fails when the schema and
// the README drift apart: a renamed field, a scalar mapped wrongly.
import type { MeQuery, ProgramsQuery, PlaceProratedOrderMutationVariables, RemindersQuery } from './gql/graphql';

export function programCount(answer: ProgramsQuery): number {
  return answer.programs.totalCount;
}

export function whoAmI(answer: MeQuery): string | null | undefined {
  return answer.viewer.subject;
}

export const placeOrder: PlaceProratedOrderMutationVariables = { agreement: 'QWdyZWVtZW50OjE' };

// Date is a string (YYYY-MM-DD): the README's scalar mapping.
export function reminderDays(answer: RemindersQuery): string[] {
  return answer.upcomingRenewals.map((reminder) => reminder.on);
}
