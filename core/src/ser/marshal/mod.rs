//! The marshal format (spec `SERIALIZERS.md`). Being written; nothing here yet.
