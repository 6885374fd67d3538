/* The spiffworkflow namespace for bpmn-js: the extension elements SpiffWorkflow reads, so they survive editing. */
(function () {
  "use strict";

  function body(name) {
    return { name: name, superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] };
  }

  window.SpiffModdle = {
    name: "SpiffWorkflow",
    uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    prefix: "spiffworkflow",
    xml: { tagAlias: "lowerCase" },
    associations: [],
    types: [
      { name: "Properties", superClass: ["Element"],
        properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"],
        properties: [{ name: "name", type: "String", isAttr: true }, { name: "value", type: "String", isAttr: true }] },
      body("PreScript"), body("PostScript"), body("PayloadExpression"), body("VariableName"),
      body("MessagePayload"), body("MessageVariable"), body("InstructionsForEndUser"), body("CalledDecisionId"),
      body("PropertyId"), body("Expression"), body("InputJson"), body("ExpectedOutputJson"),
      body("AllowGuest"), body("GuestConfirmation"), body("SignalButtonLabel"),
      { name: "ProcessVariableCorrelation", superClass: ["Element"],
        properties: [{ name: "propertyId", type: "PropertyId" }, { name: "expression", type: "Expression" }] },
      { name: "UnitTests", superClass: ["Element"],
        properties: [{ name: "unitTests", type: "UnitTest", isMany: true }] },
      { name: "UnitTest", superClass: ["Element"],
        properties: [{ name: "id", type: "String", isAttr: true }, { name: "inputJson", type: "InputJson" },
                     { name: "expectedOutputJson", type: "ExpectedOutputJson" }] },
      { name: "TaskMetadataValues", superClass: ["Element"],
        properties: [{ name: "values", type: "TaskMetadataValue", isMany: true }] },
      { name: "TaskMetadataValue", superClass: ["Element"],
        properties: [{ name: "name", type: "String", isAttr: true }, { name: "value", type: "String", isAttr: true }] },
      { name: "ServiceTaskOperator", superClass: ["Element"],
        properties: [{ name: "id", type: "String", isAttr: true }, { name: "resultVariable", type: "String", isAttr: true },
                     { name: "parameters", type: "Parameters" }] },
      { name: "Parameters", superClass: ["Element"],
        properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"],
        properties: [{ name: "id", type: "String", isAttr: true }, { name: "type", type: "String", isAttr: true },
                     { name: "value", type: "String", isAttr: true }] }
    ]
  };
})();
