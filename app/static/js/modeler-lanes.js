/* Lanes as the engine reads them: every flow node belongs to the lane it sits in on the canvas.
   bpmn-js keeps lane membership only for the direct children of a pool, while SpiffWorkflow reads the
   membership of every element (and gives a subprocess's elements the subprocess's lane when it has one).
   Before the diagram is saved, each lane's flowNodeRef list is rebuilt from the positions, and an expanded
   subprocess whose elements sit in several lanes is left out of all lanes, so each of its steps keeps its own. */
(function () {
  "use strict";

  function isLeafLane(element) {
    var children = element.businessObject.childLaneSet;
    return element.type === "bpmn:Lane" && !(children && children.lanes && children.lanes.length);
  }

  function rootOf(element) {
    var node = element;
    while (node.parent) { node = node.parent; }
    return node;
  }

  function poolOf(element) {
    var node = element.parent;
    while (node && node.type !== "bpmn:Participant") { node = node.parent; }
    return node || null;
  }

  function isFlowNode(element) {
    return !element.waypoints && !element.labelTarget && element.businessObject &&
      element.businessObject.$instanceOf && element.businessObject.$instanceOf("bpmn:FlowNode");
  }

  function laneAt(registry, element) {
    var x = element.x + element.width / 2;
    var y = element.y + element.height / 2;
    var pool = poolOf(element);
    return registry.filter(function (lane) {
      return isLeafLane(lane) && poolOf(lane) === pool && rootOf(lane) === rootOf(element) &&
        x >= lane.x && x <= lane.x + lane.width && y >= lane.y && y <= lane.y + lane.height;
    })[0] || null;
  }

  function within(element, ancestor) {
    var node = element.parent;
    while (node) {
      if (node === ancestor) { return true; }
      node = node.parent;
    }
    return false;
  }

  function sync(modeler) {
    var registry = modeler.get("elementRegistry");
    var lanes = registry.filter(isLeafLane);
    if (!lanes.length) { return; }
    var refs = new Map(lanes.map(function (lane) { return [lane, []]; }));
    var nodes = registry.filter(isFlowNode);
    var placed = new Map();
    nodes.forEach(function (node) {
      var lane = laneAt(registry, node);
      if (lane) { placed.set(node, lane); }
      else {  // on another plane (a collapsed subprocess) or outside every lane: keep what the file says
        lanes.forEach(function (l) {
          if ((l.businessObject.flowNodeRef || []).indexOf(node.businessObject) >= 0) { placed.set(node, l); }
        });
      }
    });
    nodes.forEach(function (node) {
      if (node.type !== "bpmn:SubProcess" && node.type !== "bpmn:Transaction" && node.type !== "bpmn:AdHocSubProcess") {
        return;
      }
      var inner = new Set();
      nodes.forEach(function (other) { if (within(other, node) && placed.get(other)) { inner.add(placed.get(other)); } });
      if (inner.size > 1) { placed.delete(node); }
    });
    placed.forEach(function (lane, node) { refs.get(lane).push(node.businessObject); });
    refs.forEach(function (list, lane) { lane.businessObject.flowNodeRef = list; });
  }

  function laneOf(modeler, element) {
    var registry = modeler.get("elementRegistry");
    var lane = laneAt(registry, element);
    if (lane) { return lane; }
    return registry.filter(function (l) {
      return isLeafLane(l) && (l.businessObject.flowNodeRef || []).indexOf(element.businessObject) >= 0;
    })[0] || null;
  }

  window.ModelerLanes = { sync: sync, laneOf: laneOf };
})();
