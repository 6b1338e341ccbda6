// A new product: its details, up to three options (Size, Colour, …) with their values, one
// variant per combination (SKU, optional own price, initial stock), and an image uploaded
// first (UploadMedia) and attached at creation. The server's complaints land beside the
// field they name, rows included (`variants[2].sku`).
import { useMemo, useState } from "preact/hooks";
import { problemOf } from "../../lib/problems.js";
import { href } from "../../lib/route.js";
import { useLoad } from "../../ui/ui.js";
import { api } from "../api.js";
import { Input, SelectField, TextArea, at, fileBody, leftover, parseAmount, violations } from "../controls.js";
import { allCategories } from "./categories.js";

interface OptionRow {
  name: string;
  values: string;
}
interface VariantRow {
  price: string;
  stock: string;
  sku: string;
}

const MAX_OPTIONS = 3;
const splitValues = (text: string) => text.split(",").map((v) => v.trim()).filter(Boolean);

/** Every combination of the options' values, in option order. */
function combinations(options: { name: string; values: string[] }[]): { name: string; value: string }[][] {
  return options.reduce<{ name: string; value: string }[][]>(
    (acc, o) => acc.flatMap((combo) => o.values.map((value) => [...combo, { name: o.name, value }])),
    [[]],
  );
}

const keyOf = (combo: { value: string }[]) => combo.map((c) => c.value).join(" / ");

export function NewProductPage() {
  const [categories] = useLoad(allCategories, []);
  const [sku, setSku] = useState("");
  const [name, setName] = useState("");
  const [brand, setBrand] = useState("");
  const [description, setDescription] = useState("");
  const [price, setPrice] = useState("");
  const [currency, setCurrency] = useState("USD");
  const [categoryId, setCategoryId] = useState("");
  const [stock, setStock] = useState("0");
  const [options, setOptions] = useState<OptionRow[]>([]);
  const [rows, setRows] = useState<Record<string, VariantRow>>({});
  const [image, setImage] = useState<File>();
  const [alt, setAlt] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string>();

  const parsed = options.map((o) => ({ name: o.name.trim(), values: splitValues(o.values) })).filter((o) => o.name || o.values.length);
  const combos = useMemo(() => (parsed.length ? combinations(parsed) : []), [JSON.stringify(parsed)]);
  const rowOf = (combo: { value: string }[]): VariantRow =>
    rows[keyOf(combo)] ?? {
      sku: [sku.trim() || "SKU", ...combo.map((c) => c.value)].join("-").toUpperCase().replace(/\s+/g, ""),
      price: "",
      stock: "0",
    };
  const setRow = (combo: { value: string }[], change: Partial<VariantRow>) =>
    setRows((r) => ({ ...r, [keyOf(combo)]: { ...rowOf(combo), ...change } }));

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setMessage(undefined);
    const local: Record<string, string> = {};
    const money = (text: string, field: string) => {
      const amount = parseAmount(text, currency);
      if (amount === undefined) local[field] = "enter an amount like 12.50";
      return { amountMinor: amount ?? 0n, currency };
    };
    const productPrice = money(price, "price");
    const variants = combos.map((combo, i) => {
      const row = rowOf(combo);
      return {
        sku: row.sku.trim(),
        optionValues: combo,
        price: row.price.trim() ? money(row.price, `variants[${i}].price`) : undefined,
        initialStock: Number.parseInt(row.stock || "0", 10),
      };
    });
    if (Object.keys(local).length) {
      setErrors(local);
      setBusy(false);
      return;
    }
    try {
      let images: { mediaId: string; alt: string }[] = [];
      if (image) {
        try {
          const media = await api.catalog.uploadMedia({ body: await fileBody(image) });
          images = [{ mediaId: media.mediaId, alt: alt || name }];
        } catch (error) {
          // The upload's own complaint (type, size) belongs to the file input.
          const p = problemOf(error);
          setErrors({ image: Object.values(p.fields).join("; ") || p.message });
          return;
        }
      }
      const { product } = await api.catalog.createProduct({
        sku: sku.trim(),
        name,
        description,
        brand,
        price: productPrice,
        categoryId,
        options: parsed,
        variants,
        initialStock: combos.length ? undefined : Number.parseInt(stock || "0", 10),
        images,
      });
      window.location.hash = href(["product", product!.id]);
    } catch (error) {
      const all = violations(error);
      setErrors(all);
      if (Object.keys(all).length === 0) setMessage(problemOf(error).message);
    } finally {
      setBusy(false);
    }
  }

  const shown = ["sku", "name", "brand", "description", "price", "category_id", "initial_stock", "options", "variants", "images", "image"];
  const banner = [...(message ? [message] : []), ...leftover(errors, shown)];
  const optionNames = options.map((_, i) => at(errors, `options[${i}]`));

  return (
    <main class="page">
      <p>
        <a href="#/products">← Products</a>
      </p>
      <h1>New product</h1>
      <form onSubmit={submit} noValidate class="product-form">
        {banner.length > 0 && (
          <p class="error banner" role="alert">
            {banner.join("; ")}
          </p>
        )}
        {banner.length === 0 && Object.keys(errors).length > 0 && (
          <p class="error banner" role="alert">
            Please correct the fields marked below.
          </p>
        )}
        <fieldset>
          <legend>Details</legend>
          <div class="grid2">
            <Input label="Name" name="name" value={name} onInput={setName} error={at(errors, "name")} required />
            <Input label="SKU" name="sku" value={sku} onInput={setSku} error={at(errors, "sku")} required hint="The product's article code, e.g. TEE" />
            <Input label="Brand" name="brand" value={brand} onInput={setBrand} error={at(errors, "brand")} />
            <SelectField
              label="Category"
              name="category_id"
              value={categoryId}
              onChange={setCategoryId}
              error={at(errors, "category_id")}
              options={[["", "Choose a category"], ...(categories.state === "ok" ? categories.value.map((c) => [c.id, c.name] as const) : [])]}
            />
            <Input label="Price" name="price" inputMode="decimal" value={price} onInput={setPrice} error={at(errors, "price")} hint="e.g. 12.50" required />
            <Input label="Currency" name="currency" value={currency} onInput={(c) => setCurrency(c.toUpperCase())} error={undefined} hint="ISO 4217, e.g. USD" />
          </div>
          <TextArea label="Description" name="description" value={description} onInput={setDescription} error={at(errors, "description")} />
        </fieldset>

        <fieldset>
          <legend>Options</legend>
          <p class="hint">Up to three, e.g. Size with values S, M, L. Without options the product has one variant.</p>
          {options.map((o, i) => (
            <div class="option-row" key={i}>
              <Input
                label={`Option ${i + 1} name`}
                name={`options[${i}].name`}
                value={o.name}
                onInput={(v) => setOptions(options.map((x, j) => (j === i ? { ...x, name: v } : x)))}
                error={at(errors, `options[${i}].name`) ?? (optionNames[i] && !at(errors, `options[${i}].values`) ? optionNames[i] : undefined)}
              />
              <Input
                label={`Option ${i + 1} values`}
                name={`options[${i}].values`}
                value={o.values}
                onInput={(v) => setOptions(options.map((x, j) => (j === i ? { ...x, values: v } : x)))}
                error={at(errors, `options[${i}].values`)}
                hint="Comma-separated, e.g. S, M, L"
              />
              <button type="button" onClick={() => setOptions(options.filter((_, j) => j !== i))} aria-label={`Remove option ${i + 1}`}>
                Remove
              </button>
            </div>
          ))}
          {at(errors, "options") && !options.length && <p class="error" role="alert">{at(errors, "options")}</p>}
          <button type="button" disabled={options.length >= MAX_OPTIONS} onClick={() => setOptions([...options, { name: "", values: "" }])}>
            Add an option
          </button>
        </fieldset>

        <fieldset>
          <legend>Variants and stock</legend>
          {combos.length === 0 ? (
            <Input label="Initial stock" name="initial_stock" type="number" inputMode="numeric" value={stock} onInput={setStock} error={at(errors, "initial_stock")} />
          ) : (
            <>
              <p class="hint">
                {combos.length} variant{combos.length === 1 ? "" : "s"}, one per combination. Leave a price empty for the product's price.
              </p>
              <ul class="variant-rows" aria-label="Variants">
                {combos.map((combo, i) => {
                  const row = rowOf(combo);
                  const title = combo.map((c) => `${c.name}: ${c.value}`).join(", ");
                  return (
                    <li key={keyOf(combo)} class="variant-row">
                      <strong>{title}</strong>
                      {at(errors, `variants[${i}].option_values`) && (
                        <small class="error" role="alert">
                          {at(errors, `variants[${i}].option_values`)}
                        </small>
                      )}
                      <div class="grid3">
                        <Input label={`SKU of ${title}`} name={`variants[${i}].sku`} value={row.sku} onInput={(v) => setRow(combo, { sku: v })} error={at(errors, `variants[${i}].sku`)} />
                        <Input
                          label={`Price of ${title}`}
                          name={`variants[${i}].price`}
                          inputMode="decimal"
                          value={row.price}
                          onInput={(v) => setRow(combo, { price: v })}
                          error={at(errors, `variants[${i}].price`)}
                        />
                        <Input
                          label={`Stock of ${title}`}
                          name={`variants[${i}].initial_stock`}
                          type="number"
                          inputMode="numeric"
                          value={row.stock}
                          onInput={(v) => setRow(combo, { stock: v })}
                          error={at(errors, `variants[${i}].initial_stock`)}
                        />
                      </div>
                    </li>
                  );
                })}
              </ul>
              {at(errors, "variants") && !combos.some((_, i) => at(errors, `variants[${i}]`)) && (
                <p class="error" role="alert">
                  {at(errors, "variants")}
                </p>
              )}
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>Image</legend>
          <Input label="Image file" name="image" type="file" accept="image/png,image/jpeg,image/webp" onFile={setImage} error={errors.image ?? at(errors, "images")} hint="PNG, JPEG or WebP" />
          <Input label="Image description (alt text)" name="alt" value={alt} onInput={setAlt} />
        </fieldset>

        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Creating…" : "Create product"}
        </button>
      </form>
    </main>
  );
}
