// A typed API: TypeBox and zod schemas checked in Rust before any
// handler runs, `c.valid` typed from them, and an OpenAPI 3.1 document
// with a Swagger UI page at /docs.
//
//   deno run -A examples/typed_api.ts        then open http://127.0.0.1:8000/docs
//
// `deno check examples/typed_api.ts` proves the types: the lines marked
// `@ts-expect-error` must not compile.

import { App, HttpError, t } from "../mod.ts";
// deno-lint-ignore no-import-prefix
import { z } from "npm:zod@^4.1";

const Pet = t.Object({
  id: t.Integer({ minimum: 1 }),
  name: t.String({ minLength: 1 }),
  tag: t.Optional(t.String()),
  born: t.Optional(t.String({ format: "date" })),
}, { $id: "Pet" });

const Problem = t.Object({ status: t.Integer(), detail: t.String() }, { $id: "Problem" });

const NewPet = z.object({
  name: z.string().min(1),
  tag: z.string().optional(),
  born: z.iso.date().optional(),
});

const pets = new Map<number, { id: number; name: string; tag?: string; born?: string }>();
let next = 1;

/** The example app, exported for tests and the conformance run. */
export const app = new App();

app.openapi({ info: { title: "Pet store", version: "1.0.0" } });

app.get("/pets", (c) => {
  const { limit, tag } = c.valid.query; // limit: number, tag: string | undefined
  const all = [...pets.values()].filter((p) => tag === undefined || p.tag === tag);
  return all.slice(0, limit);
}, {
  schema: {
    query: t.Object({
      limit: t.Integer({ minimum: 1, maximum: 100, default: 20 }),
      tag: t.Optional(t.String()),
    }),
    response: { 200: t.Array(Pet) },
  },
  summary: "List pets",
  tags: ["pets"],
  operationId: "listPets",
});

app.get("/pets/:id", (c) => {
  const id: number = c.valid.params.id;
  // @ts-expect-error: `name` is not a path parameter of this route.
  c.valid.params.name;
  const pet = pets.get(id);
  if (!pet) throw new HttpError(404, `no pet ${id}`);
  return pet;
}, {
  schema: {
    params: t.Object({ id: t.Integer({ minimum: 1 }) }),
    response: { 200: Pet, 404: Problem },
  },
  summary: "Get a pet",
  tags: ["pets"],
  operationId: "getPet",
});

app.post("/pets", (c) => {
  const body = c.valid.body; // typed by zod: { name: string; tag?: string; born?: string }
  // @ts-expect-error: `species` is not a field of the zod schema.
  body.species;
  const pet = { id: next++, ...body };
  pets.set(pet.id, pet);
  return c.json(pet, 201);
}, {
  schema: { body: NewPet, response: { 201: Pet } },
  summary: "Add a pet",
  tags: ["pets"],
  operationId: "addPet",
});

if (import.meta.main) {
  const server = app.listen({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT") ?? 8000) });
  console.log(`docs at http://127.0.0.1:${server.addr.port}/docs`);
}
