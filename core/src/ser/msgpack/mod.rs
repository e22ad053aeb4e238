//! The msgpack format (spec `SERIALIZERS.md`). Being written; nothing here yet.
