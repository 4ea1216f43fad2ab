//! DynamoDB's expression languages: parsing and validation (see the submodules).
