/**
 * The demo catalog, generated in code (no download) and deterministically: the same items, ids, prices and
 * stock on every machine, so the README's walkthrough can name them (`demo-electronics-001`, the flash-sale
 * item `demo-flash-sneakers`).
 */
import type { NewItem } from '../catalog/model';

/** A small seeded PRNG (mulberry32): deterministic prices and stock without a dependency. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoSeller {
  key: string;
  name: string;
  email: string;
}

export const DEMO_SELLERS: DemoSeller[] = [
  { key: 'volt', name: 'Volt Electronics', email: 'volt@demo.shopflow.dev' },
  { key: 'hearth', name: 'Hearth & Home', email: 'hearth@demo.shopflow.dev' },
  { key: 'stride', name: 'Stride Outdoors', email: 'stride@demo.shopflow.dev' },
];
export const DEMO_CUSTOMER = { name: 'Dana Demo', email: 'demo@shopflow.dev' };
/** The item `npm run demo:flashsale` sells. */
export const FLASH_ITEM_ID = 'demo-flash-sneakers';

interface CategorySpec {
  category: string;
  seller: string;
  brands: string[];
  /** product type, price range, attribute name -> choices */
  products: { type: string; min: number; max: number; attrs: Record<string, string[]> }[];
}

const CATEGORIES: CategorySpec[] = [
  {
    category: 'Electronics',
    seller: 'volt',
    brands: ['Sony', 'Samsung', 'LG', 'Philips', 'Anker'],
    products: [
      {
        type: 'TV',
        min: 299,
        max: 1899,
        attrs: { 'screen size': ['43 inches', '55 inches', '65 inches'], resolution: ['4K', '8K', 'Full HD'] },
      },
      { type: 'Headphones', min: 29, max: 399, attrs: { type: ['over-ear', 'in-ear'], wireless: ['yes', 'no'] } },
      {
        type: 'Bluetooth Speaker',
        min: 25,
        max: 299,
        attrs: { colour: ['black', 'blue', 'red'], waterproof: ['yes', 'no'] },
      },
      { type: 'Power Bank', min: 15, max: 89, attrs: { capacity: ['10000 mAh', '20000 mAh'] } },
    ],
  },
  {
    category: 'Computers',
    seller: 'volt',
    brands: ['Lenovo', 'Dell', 'Asus', 'Logitech'],
    products: [
      {
        type: 'Laptop',
        min: 449,
        max: 2499,
        attrs: { memory: ['8 GB', '16 GB', '32 GB'], screen: ['13 inches', '14 inches', '16 inches'] },
      },
      { type: 'Wireless Mouse', min: 12, max: 99, attrs: { colour: ['black', 'white', 'grey'] } },
      {
        type: 'Mechanical Keyboard',
        min: 49,
        max: 229,
        attrs: { layout: ['US', 'UK', 'DE'], switches: ['red', 'brown', 'blue'] },
      },
    ],
  },
  {
    category: 'Home & Kitchen',
    seller: 'hearth',
    brands: ['Bosch', 'Tefal', 'Smeg', 'KitchenAid'],
    products: [
      { type: 'Coffee Maker', min: 39, max: 699, attrs: { type: ['drip', 'espresso', 'pod'] } },
      {
        type: 'Electric Kettle',
        min: 19,
        max: 149,
        attrs: { capacity: ['1.0 l', '1.7 l'], colour: ['steel', 'cream', 'black'] },
      },
      { type: 'Blender', min: 29, max: 499, attrs: { power: ['600 W', '1000 W', '1500 W'] } },
      { type: 'Toaster', min: 19, max: 199, attrs: { slots: ['2', '4'] } },
    ],
  },
  {
    category: 'Books',
    seller: 'hearth',
    brands: ['Penguin', 'Vintage', "O'Reilly"],
    products: [
      {
        type: 'Novel',
        min: 8,
        max: 24,
        attrs: { format: ['paperback', 'hardcover'], language: ['English', 'French'] },
      },
      { type: 'Cookbook', min: 14, max: 45, attrs: { format: ['paperback', 'hardcover'] } },
      {
        type: 'Programming Guide',
        min: 29,
        max: 69,
        attrs: { topic: ['TypeScript', 'Databases', 'Distributed Systems'] },
      },
    ],
  },
  {
    category: 'Sports',
    seller: 'stride',
    brands: ['Nike', 'Adidas', 'Decathlon', 'Asics'],
    products: [
      {
        type: 'Running Shoes',
        min: 49,
        max: 219,
        attrs: { size: ['40', '42', '44'], colour: ['black', 'white', 'orange'] },
      },
      { type: 'Yoga Mat', min: 15, max: 89, attrs: { thickness: ['4 mm', '6 mm'] } },
      { type: 'Bike Helmet', min: 29, max: 179, attrs: { size: ['S', 'M', 'L'] } },
    ],
  },
  {
    category: 'Outdoors',
    seller: 'stride',
    brands: ['Patagonia', 'The North Face', 'Coleman'],
    products: [
      { type: 'Tent', min: 79, max: 599, attrs: { people: ['2', '3', '4'] } },
      { type: 'Rain Jacket', min: 59, max: 349, attrs: { size: ['S', 'M', 'L', 'XL'] } },
      { type: 'Backpack', min: 39, max: 249, attrs: { volume: ['20 l', '35 l', '50 l'] } },
    ],
  },
];

export interface DemoItem extends NewItem {
  item_id: string;
  seller: string;
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** Demo product pictures: a placeholder service that renders a stable picture per seed. */
export const demoImages = (itemId: string) => [`https://picsum.photos/seed/${itemId}/640/480`];

/** About 300 items across six categories and three sellers, plus the flash-sale item (10 units). */
export function demoCatalog(perProductBrand = 5): DemoItem[] {
  const rnd = seededRandom(20261204);
  const out: DemoItem[] = [];
  for (const c of CATEGORIES) {
    let n = 0;
    for (const p of c.products) {
      for (const brand of c.brands) {
        for (let v = 0; v < perProductBrand; v++) {
          if (rnd() < 0.35) continue; // not every brand makes every variant: a less regular catalog
          n += 1;
          const attributes: Record<string, string> = { brand };
          for (const [k, choices] of Object.entries(p.attrs))
            attributes[k] = choices[Math.floor(rnd() * choices.length)]!;
          const price = Math.round((p.min + rnd() * (p.max - p.min)) * 100) / 100;
          const model = `${String.fromCharCode(65 + Math.floor(rnd() * 26))}${100 + Math.floor(rnd() * 900)}`;
          const item_id = `demo-${slug(c.category)}-${String(n).padStart(3, '0')}`;
          out.push({
            item_id,
            seller: c.seller,
            name: `${brand} ${p.type} ${model}`,
            category: c.category,
            description: `${brand}'s ${p.type.toLowerCase()} ${model}: ${Object.entries(attributes)
              .filter(([k]) => k !== 'brand')
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}.`,
            price,
            stock: rnd() < 0.05 ? 0 : 5 + Math.floor(rnd() * 96),
            attributes,
            images: demoImages(item_id),
          });
        }
      }
    }
  }
  out.push({
    item_id: FLASH_ITEM_ID,
    seller: 'stride',
    name: 'Limited Edition Flash Sneakers',
    category: 'Sports',
    description: 'Only a handful made: the item of the flash-sale demo (npm run demo:flashsale).',
    price: 99,
    stock: 10,
    attributes: { brand: 'Stride', edition: 'limited' },
    images: demoImages(FLASH_ITEM_ID),
  });
  return out;
}
