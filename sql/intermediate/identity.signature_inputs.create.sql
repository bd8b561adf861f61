-- What each dealer's signatures in identity.signatures were built from (identity.signature_dealers
-- compares against it); empty before the first build.
create table if not exists identity.signature_inputs (dealer_code varchar, fingerprint varchar)
