/** The demo customer's shipping address (and the flash-sale buyers'): a made-up one. */
export const DEMO_ADDRESS = {
  name: 'Dana Demo',
  line1: '1 Market Street',
  city: 'Springfield',
  postal_code: '12345',
  country: 'US',
};
