"""Output shapes of the audit endpoints (read-only)."""

from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    store = serializers.IntegerField(source="store_id", read_only=True, allow_null=True)
    changes = serializers.JSONField(read_only=True)

    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "at",
            "actor",
            "action",
            "store",
            "object_type",
            "object_id",
            "changes",
            "ip",
            "request_id",
            "hash",
        )
        read_only_fields = fields


class AuditVerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField(read_only=True)
    events_checked = serializers.IntegerField(read_only=True)
    first_broken_id = serializers.IntegerField(read_only=True, allow_null=True)
