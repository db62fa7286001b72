// Swagger UI on this server's own OpenAPI document. The bundle comes from the fastapi-offline
// package, so the page needs no network; the online validator badge is switched off too.
const root = document.getElementById("swagger-ui");
SwaggerUIBundle({ url: root.dataset.openapi, dom_id: "#swagger-ui", validatorUrl: null });
