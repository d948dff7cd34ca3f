/** Schemas shared by several routers. Ids are plain bounded strings: an object such as {"$gt": ""} is refused. */
import { z } from './openapi';

export const Id = z.string().min(1).max(50).regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');
export const UserIdParams = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) });
export const IdParams = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) });
export const Money = z.number().nonnegative().max(99_999_999.99).multipleOf(0.01);
