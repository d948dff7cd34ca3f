/** The stock module's own shapes (the order model's OrderLine and Shortage are the same shapes): stock knows
 * nothing of orders, so orders can depend on it one way. */

/** Units of one item. */
export interface StockLine {
  item_id: string;
  quantity: number;
}

/** A line that stock could not cover: how many were asked for and how many are left. */
export interface Shortage {
  item_id: string;
  requested: number;
  available: number;
}
