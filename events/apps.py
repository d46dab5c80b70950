from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from crm.signals import member_changed

        from . import services

        def record_member_change(sender, workspace, actor, action, user_id, data, **kwargs):
            subject_type, subject_id = (("token", data["token_id"]) if action.startswith("token.")
                                        else ("member", user_id))
            services.record(workspace=workspace, actor=actor, type=action, subject_type=subject_type,
                            subject_id=subject_id, data={"user_id": user_id, **data})

        member_changed.connect(record_member_change, weak=False, dispatch_uid="events.member_changed")
