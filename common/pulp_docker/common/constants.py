"""Type ids and plugin ids shared by the server plugin and the admin extension."""

BLOB_TYPE_ID = "docker_blob"
MANIFEST_TYPE_ID = "docker_manifest"
MANIFEST_LIST_TYPE_ID = "docker_manifest_list"
TAG_TYPE_ID = "docker_tag"
IMAGE_TYPE_ID = "docker_image"

IMPORTER_TYPE_ID = "docker_importer"
DISTRIBUTOR_WEB_TYPE_ID = "docker_distributor_web"
DISTRIBUTOR_EXPORT_TYPE_ID = "docker_distributor_export"
CLI_WEB_DISTRIBUTOR_ID = "docker_web_distributor_name_cli"
CLI_EXPORT_DISTRIBUTOR_ID = "docker_export_distributor_name_cli"
REPO_NOTE_TYPE = {"_repo-type": "docker-repo"}

# Tag.manifest_type values.
MANIFEST_TYPE_IMAGE = "image"
MANIFEST_TYPE_LIST = "list"

# Distributor config keys.
CONFIG_KEY_REPO_REGISTRY_ID = "repo-registry-id"
CONFIG_KEY_PROTECTED = "protected"
# Whether registry clients may delete manifests, tags and blobs (default true).
CONFIG_KEY_ALLOW_DELETE = "allow-delete"

# Where the optional tag name goes in an import_upload body's unit_metadata.
UPLOAD_TAG_KEY = "tag"
