namespace syncline.test;

// Records the Syncline tests move in and out of a real OData v4 service.
entity Customers {
  key ID         : Integer;
      name       : String(100) not null;
      email      : String(200);
      balance    : Decimal(12, 2);
      birthday   : Date;
      active     : Boolean;
      score      : Double;
      @assert.range: [0, 150]
      age        : Integer;
      modifiedAt : Timestamp;
}

// A string key and a 64-bit cursor: literal syntax differs from Customers'.
entity Products {
  key code     : String(40);
      title    : String(200);
      price    : Decimal(10, 2);
      revision : Int64;
}

// A composite key.
entity Prices {
  key region    : String(10);
  key productId : Integer;
      amount    : Decimal(10, 2);
      validFrom : DateTime;
}

// Where Syncline keeps watermarks and rejected rows of an OData destination
// (spec.options.stateEntitySet / rejectsEntitySet).
entity SynclineState {
  key scope     : String(400);
      watermark : String(400);
}

entity SynclineRejects {
  key id         : UUID;
      rejectedAt : Timestamp;
      entitySet  : String(200);
      task       : String(200);
      rowKey     : String(1000);
      field      : String(200);
      code       : Integer;
      message    : String(2000);
}
