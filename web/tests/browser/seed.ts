// The catalog the stories shop in, made through the API as an admin would: a T-shirt in
// three sizes (L sold out, M dearer) with an uploaded picture, and a tea without options.
import type { Clients } from "../../src/lib/clients.js";
import { PIXEL_PNG } from "./shop.js";

export interface Catalog {
  teeId: string;
  teeM: string;
  teaId: string;
}

export async function seedCatalog(admin: Clients): Promise<Catalog> {
  const clothing = (await admin.catalog.createCategory({ name: "Clothing" })).category!;
  const tea = (await admin.catalog.createCategory({ name: "Tea" })).category!;
  const media = await admin.catalog.uploadMedia({ body: { contentType: "image/png", data: PIXEL_PNG } });
  const usd = (amount: number) => ({ amountMinor: BigInt(amount), currency: "USD" });
  const tee = (
    await admin.catalog.createProduct({
      sku: "TEE",
      name: "Organic T-shirt",
      description: "Soft cotton, three sizes.",
      brand: "Threadly",
      price: usd(1250),
      categoryId: clothing.id,
      options: [{ name: "Size", values: ["S", "M", "L"] }],
      variants: [
        { sku: "TEE-S", optionValues: [{ name: "Size", value: "S" }], initialStock: 5 },
        { sku: "TEE-M", optionValues: [{ name: "Size", value: "M" }], price: usd(1500), initialStock: 5 },
        { sku: "TEE-L", optionValues: [{ name: "Size", value: "L" }], initialStock: 0 },
      ],
      images: [{ mediaId: media.mediaId, alt: "The T-shirt" }],
    })
  ).product!;
  const green = (
    await admin.catalog.createProduct({
      sku: "TEA-1",
      name: "Green tea",
      description: "Sencha",
      brand: "Leafy",
      price: usd(800),
      categoryId: tea.id,
      initialStock: 5,
    })
  ).product!;
  const teeM = tee.variants.find((v) => v.optionValues.some((o) => o.value === "M"))!;
  return { teeId: tee.id, teeM: teeM.id, teaId: green.id };
}
