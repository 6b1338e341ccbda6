// Categories: the list, a form to create one, and per category a rename and a delete
// (refused by the server while products are in it; its message is shown on the row).
import { useState } from "preact/hooks";
import type { Category } from "../../gen/mart/product/v1/product_pb.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { Empty, Field, FormError, Loading, useLoad } from "../../ui/ui.js";
import { api } from "../api.js";
import { TextArea } from "../controls.js";

/** Every category (the catalog pages them), for lists and pickers. */
export async function allCategories(): Promise<Category[]> {
  const out: Category[] = [];
  let pageToken = "";
  do {
    const page = await api.catalog.listCategories({ pageSize: 100, pageToken });
    out.push(...page.categories);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

export function CategoriesPage() {
  const [loaded, , reload] = useLoad(allCategories, []);
  return (
    <main class="page">
      <h1>Categories</h1>
      <NewCategory onCreated={reload} />
      <h2>All categories</h2>
      {loaded.state === "loading" && <Loading what="categories" />}
      {loaded.state === "failed" && <FormError problem={loaded.problem} />}
      {loaded.state === "ok" && loaded.value.length === 0 && <Empty>No categories yet: create the first above.</Empty>}
      {loaded.state === "ok" && loaded.value.length > 0 && (
        <ul class="rows" aria-label="Categories">
          {loaded.value.map((c) => (
            <CategoryRow key={c.id} category={c} onChanged={reload} />
          ))}
        </ul>
      )}
    </main>
  );
}

function NewCategory({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [done, setDone] = useState("");

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    setDone("");
    try {
      const { category } = await api.catalog.createCategory({ name, description });
      setDone(`Created ${category?.name ?? name}.`);
      setName("");
      setDescription("");
      onCreated();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="panel" onSubmit={submit} noValidate aria-label="New category">
      <h2>New category</h2>
      <FormError problem={problem} shown={["name", "description"]} />
      <Field label="Name" name="name" value={name} onInput={setName} problem={problem} required />
      <TextArea label="Description" name="description" value={description} onInput={setDescription} problem={problem} rows={2} />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Creating…" : "Create category"}
      </button>
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
    </form>
  );
}

function CategoryRow({ category, onChanged }: { category: Category; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(category.name);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();

  async function run(call: () => Promise<unknown>) {
    setBusy(true);
    setProblem(undefined);
    try {
      await call();
      setEditing(false);
      onChanged();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class="row" data-category-id={category.id}>
      {editing ? (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api.catalog.updateCategory({ categoryId: category.id, name }));
          }}
          noValidate
        >
          <Field label={`New name for ${category.name}`} name="name" value={name} onInput={setName} problem={problem} required />
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Save name
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          <div class="row-main">
            <strong>{category.name}</strong>
            {category.description && <span class="hint"> — {category.description}</span>}
          </div>
          <div class="actions">
            <a class="button" href={`#/products?category=${category.id}`}>
              Products
            </a>
            <button type="button" onClick={() => (setName(category.name), setEditing(true))} aria-label={`Rename ${category.name}`}>
              Rename
            </button>
            <button
              type="button"
              class="danger"
              disabled={busy}
              aria-label={`Delete ${category.name}`}
              onClick={() => confirm(`Delete the category ${category.name}?`) && void run(() => api.catalog.deleteCategory({ categoryId: category.id }))}
            >
              Delete
            </button>
          </div>
        </>
      )}
      {problem && !editing && <FormError problem={problem} />}
      {problem && editing && <FormError problem={problem} shown={["name"]} />}
    </li>
  );
}
