// A TypeScript consumer of the types openapi-typescript generates from openapi/openapi.json.
// tests/integration/test_generated_clients.py copies this file next to the generated schema.d.ts
// and runs `tsc --noEmit --strict` on it: every line below is an assertion checked by the compiler.
//
// Why: account and rule ids exceed 2^53, which JavaScript numbers cannot hold
// (JSON.parse(9223372036854775807) === 9223372036854776000), so they travel as strings. If the
// document ever declared them as integers, a TypeScript client would silently corrupt them.

import type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];

// Exact type equality: false for `any`, for wider unions and for narrower types alike.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

type Json<Op, Status extends number> = Op extends {
  responses: { [S in Status]: { content: { "application/json": infer Body } } };
}
  ? Body
  : never;

// Ids are strings everywhere they appear.
export type Checks = [
  Expect<Equal<Schemas["VisibilityRead"]["account"], string>>,
  Expect<Equal<Schemas["AccountVisibility"]["account"], string>>,
  // A batch names `accounts` or `posts`, so each list is optional; their ids are strings.
  Expect<Equal<NonNullable<Schemas["BatchVisibilityRequest"]["accounts"]>, string[]>>,
  Expect<Equal<Schemas["PostOfAccount"]["post"], string>>,
  Expect<Equal<Schemas["PostOfAccount"]["account"], string>>,
  Expect<Equal<Schemas["PostVisibility"]["post"], string>>,
  Expect<Equal<Schemas["PostRuleRead"]["post"], string>>,
  Expect<Equal<operations["withhold_post"]["parameters"]["path"]["post"], string>>,
  Expect<Equal<Schemas["BulkItem"]["account"], string>>,
  Expect<Equal<Schemas["RuleRead"]["account"], string>>,
  Expect<Equal<Schemas["RuleRead"]["id"], string>>,
  Expect<Equal<Schemas["AccountWithholdings"]["account"], string>>,
  Expect<Equal<operations["get_visibility"]["parameters"]["query"]["account"], string>>,
  Expect<Equal<operations["withhold_account"]["parameters"]["path"]["account"], string>>,
  // Small counters stay numbers; `visible` is a plain boolean.
  Expect<Equal<Schemas["BulkWithholdRead"]["revision"], number>>,
  Expect<Equal<Schemas["VisibilityRead"]["visible"], boolean>>,
  // Operations are wired to the right bodies.
  Expect<Equal<Json<paths["/visible"]["get"], 200>, Schemas["VisibilityRead"]>>,
  Expect<
    Equal<
      Json<paths["/visible"]["post"], 200>,
      Schemas["BatchVisibilityRead"] | Schemas["BatchPostVisibilityRead"]
    >
  >,
  Expect<Equal<Json<paths["/accounts/{account}/withholdings/{country}"]["put"], 201>, Schemas["RuleRead"]>>,
  Expect<Equal<Json<paths["/accounts/{account}/withholdings"]["get"], 200>, Schemas["AccountWithholdings"]>>,
  Expect<Equal<Json<paths["/withholdings/bulk"]["post"], 201>, Schemas["BulkWithholdRead"]>>,
];

export const id: Schemas["VisibilityRead"]["account"] = "1356948273645182976";

// @ts-expect-error an account id is a string, never a number
export const numericId: Schemas["VisibilityRead"]["account"] = 1356948273645182976;

export const batch: Schemas["BatchVisibilityRequest"] = {
  country: "IN",
  // @ts-expect-error numbers are refused in the batch request too
  accounts: ["12", 13],
};

export const lift: Schemas["LiftRequest"] = {
  // @ts-expect-error the lift reason is a closed set
  reason: "because",
};
