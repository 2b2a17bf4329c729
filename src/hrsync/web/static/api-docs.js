// The API reference: Swagger UI, served from this portal (installed from the fastapi-offline
// package), reading the portal's own OpenAPI document. Nothing is loaded from another site:
// the validator badge (which would call validator.swagger.io) is switched off.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
}());
