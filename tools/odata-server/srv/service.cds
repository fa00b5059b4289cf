using syncline.test as db from '../db/schema';

// Server-driven paging: a client gets at most `max` records per page and follows
// @odata.nextLink (CAP 9 does not lower the page size for Prefer: odata.maxpagesize).
service SyncService @(path: '/odata') {
  @cds.query.limit: { default: 500, max: 500 }
  entity Customers as projection on db.Customers;
  @cds.query.limit: { default: 1000, max: 1000 }
  entity Products  as projection on db.Products;
  @cds.query.limit: { default: 1000, max: 1000 }
  entity Prices    as projection on db.Prices;
  entity SynclineState   as projection on db.SynclineState;
  entity SynclineRejects as projection on db.SynclineRejects;
}
