import { MongoClient } from 'mongodb';

export function createMongo(url: string): MongoClient {
  return new MongoClient(url, { serverSelectionTimeoutMS: 5000, connectTimeoutMS: 5000 });
}
export type { MongoClient };
