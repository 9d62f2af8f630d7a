//! The current REST form (`/api/...`): bare bodies, maps as JSON objects, 201/200/204.
//!
//! Errors are the bare standard-error struct: `{"error_type", "messages", "data"?}`.

use super::json::MapStyle;

/// Maps are JSON objects on this form.
pub const STYLE: MapStyle = MapStyle::Object;
