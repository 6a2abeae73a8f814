"""The JSON shapes of CRM's API (msgspec Structs), one module per concept."""
