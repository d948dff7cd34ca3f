/** The items index: the seed's fields plus supplier, stock flag and free-form attributes as keywords. */
export const ITEMS_INDEX_BODY = {
  settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '1s' },
  mappings: {
    dynamic: 'strict',
    properties: {
      item_id: { type: 'keyword' },
      supplier_id: { type: 'keyword' },
      name: { type: 'text', fields: { raw: { type: 'keyword', ignore_above: 256 } } },
      description: { type: 'text' },
      category: { type: 'keyword', fields: { text: { type: 'text' } } },
      price: { type: 'scaled_float', scaling_factor: 100 },
      stock: { type: 'integer' },
      // Orderable: in stock and listed (a delisted item is hidden like a sold-out one).
      in_stock: { type: 'boolean' },
      images: { type: 'keyword', index: false },
      // Attribute values are searchable text and exact-match keywords (brand:Sony).
      attributes: { type: 'object', dynamic: true },
      updated_at: { type: 'date' },
    },
    dynamic_templates: [
      {
        attributes_as_keywords: {
          path_match: 'attributes.*',
          mapping: { type: 'keyword', ignore_above: 256, fields: { text: { type: 'text' } } },
        },
      },
    ],
  },
} as const;

/** Fields added after indexes were first created: ensureIndex adds them to an existing index's mapping. */
export const ADDED_FIELDS = { images: { type: 'keyword', index: false } } as const;

export interface ItemDocument {
  item_id: string;
  supplier_id: string | null;
  name: string;
  description: string | null;
  category: string;
  price: number;
  stock: number;
  in_stock: boolean;
  images?: string[];
  attributes: Record<string, string>;
  updated_at: string;
}
