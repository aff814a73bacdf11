// "Near me" (progressive enhancement): where the browser allows it, a button
// fills the search form with the browser's location and sends it. Without
// JavaScript the place-name field does the same job.
(function () {
  "use strict";
  var form = document.getElementById("near-form");
  if (!form || !navigator.geolocation) {
    return;
  }
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "Use my location";
  var status = document.createElement("p");
  status.className = "hint";
  status.setAttribute("role", "status");
  function field(name, value) {
    var input = form.querySelector('input[type="hidden"][name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }
  button.addEventListener("click", function () {
    status.textContent = "Finding where you are…";
    navigator.geolocation.getCurrentPosition(function (position) {
      field("lat", position.coords.latitude.toFixed(5));
      field("lon", position.coords.longitude.toFixed(5));
      var place = form.querySelector('input[name="near"]');
      if (place) { place.value = ""; }
      form.submit();
    }, function () {
      status.textContent = "Your location is not available: type a place name instead.";
    }, { maximumAge: 600000, timeout: 15000 });
  });
  form.appendChild(button);
  form.appendChild(status);
})();
