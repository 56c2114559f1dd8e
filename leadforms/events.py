"""The domain events leadforms emits: their names are owned here, where they are emitted.

Listeners (automation's triggers, webhooks) import the names from this module, so leadforms
never imports the apps that listen to it.
"""

EVENT_FORM_SUBMITTED = "form.submitted"
