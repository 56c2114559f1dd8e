"use strict";
// The admin's periodic task form (django-celery-beat): the chosen crontab in words under its
// field. The package does this in an inline script, which the Content-Security-Policy blocks.
(function () {
  const $ = django.jQuery;
  const help = document.currentScript.dataset.crontabHelp;
  const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    const translation = readableCrontabs[$("#id_crontab").val()];
    $(".field-crontab .help").empty().append(
      document.createTextNode(help),
      document.createElement("br"),
      document.createTextNode(`Translation: ${translation}`),
    );
  });
})();
