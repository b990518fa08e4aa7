# ruff: noqa: E501, RUF001  (HTML templates: long lines and typographic dashes are content)
"""The portal's HTML (Jinja2, autoescaped): one base layout, a page per template. Accessible by
construction: a skip link, every input labelled, errors announced, visible focus, 4.5:1 contrast."""

from __future__ import annotations

from typing import Any

import jinja2

CSS = """
*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9}
a{color:#0b5cad}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f59e0b;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:8px}
header{background:#0b3d6e;color:#fff;padding:12px 16px;display:flex;flex-wrap:wrap;gap:12px;align-items:center}
header a{color:#fff}header nav{display:flex;gap:14px;flex-wrap:wrap;margin-left:auto;align-items:center}
header form{margin:0}header button{background:none;border:1px solid #fff;color:#fff;padding:4px 10px}
main{max-width:960px;margin:0 auto;padding:16px}section,.card{background:#fff;border:1px solid #d0d5dd;
border-radius:8px;padding:16px;margin:0 0 16px}h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:0}
label{display:block;font-weight:600;margin:10px 0 4px}input,select,textarea{font:inherit;padding:8px;
border:1px solid #667085;border-radius:6px;width:100%;max-width:420px}input[type=checkbox],input[type=radio]{width:auto}
.check{display:flex;gap:8px;align-items:center;font-weight:400}
button,.button{font:inherit;background:#0b5cad;color:#fff;border:0;border-radius:6px;padding:10px 16px;
cursor:pointer;margin-top:12px;display:inline-block;text-decoration:none}button.secondary{background:#475467}
button.danger{background:#b42318}.error{background:#fef3f2;border:1px solid #b42318;color:#7a271a;padding:10px;border-radius:6px}
.ok{background:#ecfdf3;border:1px solid #067647;color:#054f31;padding:10px;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e4e7ec}
.table{overflow-x:auto}ol.progress{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px}
ol.progress li{padding:4px 10px;border-radius:999px;border:1px solid #98a2b3;font-size:.85rem}
ol.progress li.done{background:#ecfdf3;border-color:#067647}ol.progress li.current{background:#0b5cad;color:#fff;border-color:#0b5cad;font-weight:700}
.chart{width:100%;height:auto;max-width:640px}.muted{color:#475467}.grid{display:grid;gap:16px;
grid-template-columns:repeat(auto-fit,minmax(260px,1fr))}fieldset{border:1px solid #d0d5dd;border-radius:6px;margin:10px 0}
"""

BASE = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{% if refresh %}<meta http-equiv="refresh" content="{{ refresh }}">{% endif %}
<title>{{ title }} · homeflex</title><link rel="stylesheet" href="/static/portal.css"></head><body>
<a class="skip" href="#main">Skip to content</a>
<header><a href="/"><strong>homeflex</strong></a><nav aria-label="Main">
{% if account %}
 {% if account.role.value == 'operator' %}<a href="/console">Console</a>{% endif %}
 {% if account.role.value == 'installer' %}<a href="/installer">My jobs</a>{% endif %}
 {% if account.household_id %}<a href="/households/{{ account.household_id }}">My home</a>
 <a href="/households/{{ account.household_id }}/events">Events</a>
 <a href="/households/{{ account.household_id }}/statements">Payments</a>{% endif %}
 <span>{{ account.email }}</span>
 <form method="post" action="/logout"><input type="hidden" name="csrf" value="{{ csrf }}"><button>Log out</button></form>
{% else %}<a href="/login">Log in</a>{% endif %}
</nav></header>
<main id="main">{% if flash %}<p class="ok" role="status">{{ flash }}</p>{% endif %}
{% if error %}<div class="error" role="alert">{{ error }}</div>{% endif %}
{% block body %}{% endblock %}</main></body></html>"""

PROGRESS = """{% macro progress(steps, titles) %}<ol class="progress" aria-label="Your journey">
{% for step, status in steps %}<li class="{{ status }}"{% if status == 'current' %} aria-current="step"{% endif %}>
{{ titles[step] }}{% if status == 'done' %}<span class="skip"> (done)</span>{% endif %}</li>{% endfor %}</ol>{% endmacro %}"""

PAGES: dict[str, str] = {
    "index.html": """{% extends "base.html" %}{% block body %}
<h1>Get paid for using electricity when it helps your street</h1>
<p>homeflex helps households in the community shift their electricity use, and pays them when the local
network (the DSO) asks for less at busy times. Tell us about your home and what you would like to do.</p>
<section><h2>Express your interest</h2>
<form method="post" action="/interest"><input type="hidden" name="csrf" value="{{ csrf }}">
<label for="name">Your name</label><input id="name" name="name" required autocomplete="name">
<label for="email">Email</label><input id="email" name="email" type="email" required autocomplete="email">
<label for="postcode">Postcode</label><input id="postcode" name="postcode" required autocomplete="postal-code">
<fieldset><legend>What would you like to do?</legend>
{% for key, text in intentions %}<label class="check"><input type="checkbox" name="intentions" value="{{ key }}"> {{ text }}</label>{% endfor %}
</fieldset>
<fieldset><legend>Energy technology you already own, and how it connects</legend>
{% for kind, name in owned_kinds %}<label for="owned_{{ kind }}">{{ name }}</label>
<select id="owned_{{ kind }}" name="owned_{{ kind }}"><option value="">I don't have one</option>
{% for p, pname in protocols %}<option value="{{ p }}">{{ pname }}</option>{% endfor %}</select>{% endfor %}
</fieldset>
<label class="check"><input type="checkbox" name="vulnerable" value="yes"> Someone at home depends on heating or
powered equipment for their health (we then never ask your home to go below its comfort floor)</label>
<button type="submit">Send</button></form></section>{% endblock %}""",
    "apply.html": """{% extends "base.html" %}{% from "progress.html" import progress %}{% block body %}
<h1>Hello {{ customer.name }}</h1>{{ progress(steps, titles) }}
<section><h2>Your technology</h2>{% if compat %}<ul>{% for c in compat %}
<li><strong>{{ c.name }}</strong>: {{ 'compatible' if c.compatible else 'not compatible yet' }} — {{ c.why }}</li>
{% endfor %}</ul>{% else %}<p>You told us you do not own energy technology yet: our plans include installing it.</p>{% endif %}
<p class="muted">Your category: <strong>{{ category.category.value }}</strong> ({{ category_info.name }}) — {{ category_info.characteristics }}</p></section>
<section><h2>Information session</h2>
{% if booking %}<p>You are booked on <strong>{{ booking.starts_at.strftime('%A %d %B %Y, %H:%M') }} UTC</strong>
({{ 'online' if booking.mode == 'online' else 'face to face' }}, {{ booking.place }}). We will invite you to the portal after it.</p>
{% if customer.state.step.value == 'session_booked' %}<form method="post" action="/apply/{{ token }}/cancel">
<input type="hidden" name="csrf" value="{{ csrf }}"><button class="secondary">Cancel my booking</button></form>{% endif %}
{% elif customer.state.step.value == 'interest' %}
{% if sessions %}<form method="post" action="/apply/{{ token }}/book"><input type="hidden" name="csrf" value="{{ csrf }}">
<fieldset><legend>Choose a session</legend>{% for s in sessions %}
<label class="check"><input type="radio" name="session_id" value="{{ s.id }}" required {% if s.booked >= s.capacity %}disabled{% endif %}>
{{ s.starts_at.strftime('%a %d %b %Y %H:%M') }} UTC — {{ 'online' if s.mode == 'online' else 'face to face' }}, {{ s.place }}
({{ s.capacity - s.booked }} of {{ s.capacity }} places left)</label>{% endfor %}</fieldset>
<button>Book this session</button></form>{% else %}<p>No sessions are scheduled yet: we will email you.</p>{% endif %}
{% else %}<p>You are past this step: <a href="/login">log in</a>.</p>{% endif %}</section>{% endblock %}""",
    "invite.html": """{% extends "base.html" %}{% block body %}<h1>Create your account</h1>
<section><form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
<p>Your email: <strong>{{ email }}</strong></p>
<label for="password">Choose a password (at least 10 characters)</label>
<input id="password" name="password" type="password" required minlength="10" autocomplete="new-password">
<button>Create account</button></form></section>{% endblock %}""",
    "login.html": """{% extends "base.html" %}{% block body %}<h1>Log in</h1><section>
<form method="post" action="/login"><input type="hidden" name="csrf" value="{{ csrf }}">
<label for="email">Email</label><input id="email" name="email" type="email" required autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" required autocomplete="current-password">
<button>Log in</button></form><p><a href="/reset">Forgotten your password?</a></p></section>{% endblock %}""",
    "reset_request.html": """{% extends "base.html" %}{% block body %}<h1>Reset your password</h1><section>
<form method="post" action="/reset"><input type="hidden" name="csrf" value="{{ csrf }}">
<label for="email">Email</label><input id="email" name="email" type="email" required>
<button>Send me a link</button></form></section>{% endblock %}""",
    "reset.html": """{% extends "base.html" %}{% block body %}<h1>Choose a new password</h1><section>
<form method="post"><input type="hidden" name="csrf" value="{{ csrf }}">
<label for="password">New password (at least 10 characters)</label>
<input id="password" name="password" type="password" required minlength="10" autocomplete="new-password">
<button>Save</button></form></section>{% endblock %}""",
    "message.html": """{% extends "base.html" %}{% block body %}<h1>{{ title }}</h1><section><p>{{ message }}</p>
{% if link %}<p><a href="{{ link }}">{{ link_text }}</a></p>{% endif %}</section>{% endblock %}""",
    "household.html": """{% extends "base.html" %}{% from "progress.html" import progress %}{% block body %}
<h1>{{ customer.name }}'s home</h1>{{ progress(steps, titles) }}
<p>Category <strong>{{ category.category.value }}</strong> ({{ category_info.name }}){% if category.vulnerable %},
<strong>vulnerable</strong>: {{ vulnerable_rules|join('; ') }}{% endif %}. Contracts typical for it: {{ category_info.contracts|join(', ') }}.</p>
{% if upload %}<section aria-live="polite"><h2>Your meter data</h2><p>{{ upload.intervals }} half-hours read, {{ upload.stored }} new readings,
{{ upload.duplicates }} duplicate rows, {{ upload.rejected|length }} rows rejected.</p>
{% if upload.rejected %}<div class="error" role="alert"><p>These rows were not used:</p><ul>{% for line, why in upload.rejected[:50] %}
<li>line {{ line }}: {{ why }}</li>{% endfor %}</ul></div>{% endif %}</section>{% endif %}
{% set step = customer.state.step.value %}
{% if step == 'left' %}<section><h2>You have left</h2><p>You can come back where you left off.</p>
<form method="post" action="/households/{{ customer.household_id }}/return"><input type="hidden" name="csrf" value="{{ csrf }}"><button>Come back</button></form></section>{% endif %}
{% macro beside(name) %}{% if form_errors.get(name) %}<p class="error" id="{{ name }}-error">{{ form_errors[name] }}</p>{% endif %}{% endmacro %}
{% macro invalid(name) %}{% if form_errors.get(name) %} aria-invalid="true" aria-describedby="{{ name }}-error"{% endif %}{% endmacro %}
{% macro connects(kind) %}{% set pf = kind ~ '_protocol' %}<label for="{{ pf }}">How it connects</label><select id="{{ pf }}" name="{{ pf }}"{{ invalid(pf) }}>
{% for c in protocol_choices[kind] %}<option value="{{ c.protocol }}" {% if wiring.get(pf, default_protocols[kind]) == c.protocol %}selected{% endif %}>{{ c.title }}{% if c.products %} — e.g. {{ c.products|join(', ') }}{% endif %}</option>{% endfor %}</select>{{ beside(pf) }}
{% set pr = kind ~ '_product' %}<label for="{{ pr }}">Make and model (optional)</label><input id="{{ pr }}" name="{{ pr }}" list="{{ pr }}s" value="{{ wiring.get(pr, '') }}"{{ invalid(pr) }}>{{ beside(pr) }}
<datalist id="{{ pr }}s">{% for c in protocol_choices[kind] %}{% for product in c.products %}<option value="{{ product }}">{% endfor %}{% endfor %}</datalist>
{% for c in protocol_choices[kind] if c.fields %}<fieldset><legend>Its address, if it connects over {{ c.title }}</legend>
{% for f in c.fields %}{% if f.flag %}<label class="check"><input type="checkbox" id="{{ f.name }}" name="{{ f.name }}" {% if wiring.get(f.name) == 'on' or (f.name not in wiring and f.default) %}checked{% endif %}> {{ f.label }}</label>
{% elif f.secret %}<label for="{{ f.name }}">{{ f.label }}</label><input id="{{ f.name }}" name="{{ f.name }}" type="password" autocomplete="new-password" placeholder="{{ 'unchanged if left empty' if (customer.data.get('profile') or {}).get('wiring') else '' }}"{{ invalid(f.name) }}>
{% else %}<label for="{{ f.name }}">{{ f.label }}</label><input id="{{ f.name }}" name="{{ f.name }}" value="{{ wiring.get(f.name, '') }}"{% if f.default is not none %} placeholder="{{ f.default }}"{% endif %}{{ invalid(f.name) }}>{% endif %}{{ beside(f.name) }}{% endfor %}</fieldset>{% endfor %}{% endmacro %}
{% if step in ('account', 'profile', 'plan') %}<section><h2>Your smart energy profile</h2>
<form method="post" action="/households/{{ customer.household_id }}/profile" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{{ csrf }}">{% set p = customer.data.get('profile') or {} %}
<div class="grid"><div><label for="home_type">Type of home</label><select id="home_type" name="home_type">
{% for t in home_types %}<option {% if p.get('home',{}).get('type') == t %}selected{% endif %}>{{ t }}</option>{% endfor %}</select>
<label for="floor_area_m2">Floor area (m²)</label><input id="floor_area_m2" name="floor_area_m2" inputmode="decimal" value="{{ p.get('home',{}).get('floor_area_m2', 90) }}">
<label for="occupants">People living there</label><input id="occupants" name="occupants" inputmode="numeric" value="{{ p.get('home',{}).get('occupants', 2) }}">
<label for="tariff">Tariff</label><select id="tariff" name="tariff">{% for k, v in tariffs.items() %}
<option value="{{ k }}" {% if p.get('tariff',{}).get('type') == k %}selected{% endif %}>{{ v }}</option>{% endfor %}</select></div>
<div>{% for kind, fields in device_fields.items() %}<fieldset><legend>{{ device_names[kind] }}</legend>
<label class="check"><input type="checkbox" id="has_{{ kind }}" name="has_{{ kind }}" {% if (submitted.get('has_' ~ kind) if submitted else kind in p.get('devices',{})) %}checked{% endif %}> I have this</label>
{% for name, label, unit, lo, hi in fields %}<label for="{{ name }}">{{ label }} ({{ unit }})</label>
<input id="{{ name }}" name="{{ name }}" inputmode="decimal" value="{{ submitted.get(name, p.get('devices',{}).get(kind,{}).get(name, hi/2 if unit != 'count' else 2)) }}"{{ invalid(name) }}>{{ beside(name) }}{% endfor %}
{{ connects(kind) }}
</fieldset>{% endfor %}
<fieldset><legend>Your meter</legend><p>Leave it as it is unless a metering product (a Shelly Pro 3EM...) measures your home's supply.</p>
{{ connects('meter') }}
</fieldset></div>
<div><label for="ev_ready_by">EV ready by</label><input id="ev_ready_by" name="ev_ready_by" value="{{ prefs.ev_ready_by }}">
<label for="ev_target_pct">EV charge target (%)</label><input id="ev_target_pct" name="ev_target_pct" value="{{ prefs.ev_target_pct }}">
<label for="comfort_min_c">Lowest comfortable temperature (°C)</label><input id="comfort_min_c" name="comfort_min_c" value="{{ prefs.comfort_min_c }}">
<label for="comfort_max_c">Highest comfortable temperature (°C)</label><input id="comfort_max_c" name="comfort_max_c" value="{{ prefs.comfort_max_c }}">
<label for="battery_reserve_pct">Battery reserve (%)</label><input id="battery_reserve_pct" name="battery_reserve_pct" value="{{ prefs.battery_reserve_pct }}">
<label for="meter_csv">Half-hourly meter data (CSV with start,value in kWh; optional)</label>
<input id="meter_csv" name="meter_csv" type="file" accept=".csv,text/csv">
<label for="timezone">Times in the file are</label><select id="timezone" name="timezone"><option value="UTC">UTC (settlement periods)</option>
<option value="Europe/London">UK clock time</option></select></div></div>
{% if form_errors %}<div class="error" role="alert"><ul>{% for k, v in form_errors.items() %}<li>{{ v }}</li>{% endfor %}</ul></div>{% endif %}
<button>Save my profile</button></form></section>{% endif %}
{% if usage_chart %}<section><h2>Your typical day</h2>{{ usage_chart|safe }}</section>{% endif %}
{% if step in ('profile', 'plan') %}<section><h2>Choose a plan</h2>
<form method="post" action="/households/{{ customer.household_id }}/plan"><input type="hidden" name="csrf" value="{{ csrf }}">
<fieldset><legend>Plans</legend>{% for plan, ok, why in plans %}<label class="check">
<input type="radio" name="plan" value="{{ plan.id }}" {% if not ok %}disabled{% endif %} {% if customer.data.get('plan') == plan.id %}checked{% endif %} required>
<span><strong>{{ plan.name }}</strong> — {{ plan.description }} <em>({{ why }}; from £{{ plan.quote_gbp }})</em></span></label>{% endfor %}</fieldset>
<button>Choose this plan</button></form>{{ plan_chart|safe }}</section>{% endif %}
{% if step == 'plan' %}<section><h2>Quotes and assessment visit</h2>{% if quotes %}
<form method="post" action="/households/{{ customer.household_id }}/assessment"><input type="hidden" name="csrf" value="{{ csrf }}">
<fieldset><legend>Installers</legend>{% for email, price in quotes %}<label class="check"><input type="radio" name="installer" value="{{ email }}" required> {{ email }} — £{{ price }}</label>{% endfor %}</fieldset>
<label for="visit">Assessment visit date</label><input id="visit" name="visit" type="date" required>
<button>Book the assessment</button></form>{% else %}<p>No installer has quoted yet.</p>{% endif %}</section>{% endif %}
{% if step == 'assessment_booked' %}<section><h2>Pre-installation</h2><p>Your assessment with {{ customer.data.installer }} is on
{{ customer.data.visit }} (quote £{{ customer.data.quote_gbp }}). The installer records the installation here when it is done.</p></section>{% endif %}
{% if stage %}<section><h2>Stage {{ stage }}</h2>
{% if readiness %}<p>Readiness for automatic control: <strong>{{ 'ready' if readiness.ready else 'not ready yet' }}</strong></p>
<ul>{% for r in readiness.reasons %}<li>{{ r }}</li>{% endfor %}</ul>{% else %}<p>We are learning how your home uses energy.</p>{% endif %}
<p><a href="/households/{{ customer.household_id }}/events">Events</a> · <a href="/households/{{ customer.household_id }}/statements">Payments</a></p></section>{% endif %}
{% if step != 'left' %}<section><h2>Leave</h2><form method="post" action="/households/{{ customer.household_id }}/leave">
<input type="hidden" name="csrf" value="{{ csrf }}"><label for="reason">Why are you leaving? (optional)</label><input id="reason" name="reason">
<button class="danger">Leave the scheme</button></form></section>{% endif %}
{% if account and account.role.value == 'operator' %}<section><h2>Category</h2>
<div class="table"><table><caption>Category history</caption><thead><tr><th scope="col">Since (UTC)</th><th scope="col">Category</th><th scope="col">Vulnerable</th><th scope="col">Why</th><th scope="col">By</th></tr></thead><tbody>
{% for h in category_history %}<tr><td>{{ h.since.strftime('%Y-%m-%d %H:%M') }}</td><td>{{ h.category.value }}</td><td>{{ 'yes' if h.vulnerable else 'no' }}</td><td>{{ h.reason }}</td><td>{{ h.actor }}</td></tr>{% endfor %}</tbody></table></div>
<form method="post" action="/households/{{ customer.household_id }}/category"><input type="hidden" name="csrf" value="{{ csrf }}">
<label for="category">New category</label><select id="category" name="category">{% for c in 'ABCD' %}<option {% if c == category.category.value %}selected{% endif %}>{{ c }}</option>{% endfor %}</select>
<label class="check"><input type="checkbox" name="vulnerable" value="yes" {% if category.vulnerable %}checked{% endif %}> Vulnerable</label>
<label for="category_reason">Why</label><input id="category_reason" name="reason" required>
<button class="secondary">Change category</button></form></section>{% endif %}
<section><h2>History</h2><div class="table"><table><caption class="skip">Journey history</caption><thead><tr><th scope="col">When (UTC)</th><th scope="col">Step</th><th scope="col">By</th><th scope="col">Why</th></tr></thead><tbody>
{% for e in audit %}<tr><td>{{ e.at.strftime('%Y-%m-%d %H:%M') }}</td><td>{{ titles[e.to_step] }}</td><td>{{ e.role.value }}</td><td>{{ e.reason }}</td></tr>{% endfor %}</tbody></table></div></section>
{% endblock %}""",
    "events.html": """{% extends "base.html" %}{% block body %}<h1>Events</h1>
<section><h2>Upcoming</h2>{% if upcoming %}<div class="table"><table><thead><tr><th scope="col">Start (UTC)</th><th scope="col">End</th><th scope="col">Reduction</th><th scope="col">Price</th><th scope="col">Your answer</th><th scope="col"></th></tr></thead><tbody>
{% for e, opt, skipped in upcoming %}<tr><td>{{ e.start.strftime('%a %d %b %H:%M') }}</td><td>{{ e.end.strftime('%H:%M') }}</td><td>{{ e.reduction_kw }} kW</td><td>£{{ e.price_gbp_per_mwh|round(0)|int }}/MWh</td>
<td>{{ 'skipped (customer override)' if skipped else (opt or 'waiting for your home') }}</td>
<td>{% if not skipped %}<form method="post" action="/households/{{ customer.household_id }}/events/{{ e.event_id }}/skip"><input type="hidden" name="csrf" value="{{ csrf }}">
<button class="secondary" aria-label="Skip the event of {{ e.start.strftime('%d %b %H:%M') }}">Skip this one</button></form>{% endif %}</td></tr>{% endfor %}</tbody></table></div>
{% else %}<p>No upcoming events.</p>{% endif %}</section>
<section><h2>Past</h2>{% if past %}<ul>{% for e, opt, skipped in past %}<li>{{ e.start.strftime('%a %d %b %H:%M') }}: {{ 'skipped' if skipped else (opt or 'no answer') }}{% if e.status == 'cancelled' %} (cancelled){% endif %}</li>{% endfor %}</ul>{% else %}<p>None yet.</p>{% endif %}</section>{% endblock %}""",
    "statements.html": """{% extends "base.html" %}{% block body %}<h1>Payments — {{ month }}</h1>
<form method="get"><label for="month">Month</label><input id="month" name="month" type="month" value="{{ month }}"><button class="secondary">Show</button></form>
<section><h2>Total paid: £{{ statement.total_gbp }}</h2>{% if statement.lines %}{{ payments_chart|safe }}
{% for line, chart in lines %}<div class="card"><h3>Event {{ line.event_start.strftime('%a %d %b %H:%M') }} UTC</h3>
<p>Delivered {{ '%.3f'|format(line.delivered_kwh) }} kWh at £{{ line.rate_gbp_per_mwh|round(0)|int }}/MWh — you were paid <strong>£{{ line.amount_gbp }}</strong>
{% if line.version > 1 %}(adjustment, version {{ line.version }}){% endif %}.</p>{{ chart|safe }}
<div class="table"><table><caption>Evidence per half-hour</caption><thead><tr><th scope="col">Half-hour</th><th scope="col">Baseline kWh</th><th scope="col">Actual kWh</th><th scope="col">Delivered kWh</th></tr></thead><tbody>
{% for row in line.evidence %}<tr><td>{{ row.get('period', '')[11:16] }} UTC</td><td>{{ row.get('baseline_kwh')|kwh }}</td><td>{{ row.get('actual_kwh')|kwh }}</td><td>{{ row.get('delivered_kwh')|kwh }}</td></tr>{% endfor %}
</tbody></table></div></div>{% endfor %}{% else %}<p>No payments this month.</p>{% endif %}</section>{% endblock %}""",
    "console.html": """{% extends "base.html" %}{% block body %}<h1>Operator console</h1>
<section><h2>Funnel</h2><form method="get"><label for="category">Category</label><select id="category" name="category">
<option value="">All</option>{% for c in 'ABCD' %}<option {% if category == c %}selected{% endif %}>{{ c }}</option>{% endfor %}</select><button class="secondary">Show</button></form>
{{ funnel_chart|safe }}<div class="table"><table><thead><tr><th scope="col">Step</th><th scope="col">Now here</th><th scope="col">Reached</th><th scope="col">Left here</th><th scope="col">Median days at step</th></tr></thead><tbody>
{% for r in funnel %}<tr><td>{{ titles[r.step] }}</td><td>{{ r.now_at }}</td><td>{{ r.reached }}</td><td>{{ r.left_here }}</td><td>{{ '%.1f'|format(r.median_days) if r.median_days is not none else '–' }}</td></tr>{% endfor %}</tbody></table></div></section>
<section><h2>Customers</h2><div class="table"><table><thead><tr><th scope="col">Household</th><th scope="col">Name</th><th scope="col">Category</th><th scope="col">Step</th><th scope="col">Actions</th></tr></thead><tbody>
{% for c, cat in customers %}<tr><td><a href="/households/{{ c.household_id }}">{{ c.household_id }}</a></td><td>{{ c.name }}</td><td>{{ cat.category.value }}{{ ' (vulnerable)' if cat.vulnerable }}</td><td>{{ titles[c.state.step] }}</td><td>
{% for to in moves[c.household_id] %}<form method="post" action="/console/customers/{{ c.household_id }}/move" style="display:inline"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="to" value="{{ to.value }}">{% set label = 'Bring back to ' ~ titles[to] if c.state.step.value == 'left' else ('Cancel booking' if to.value == 'interest' else titles[to]) %}<button class="secondary" aria-label="{{ c.household_id }}: {{ label }}">{{ label }}</button></form> {% endfor %}</td></tr>{% endfor %}</tbody></table></div></section>
<div class="grid"><section><h2>Schedule an information session</h2><form method="post" action="/console/sessions"><input type="hidden" name="csrf" value="{{ csrf }}">
<label for="starts_at">Starts (UTC)</label><input id="starts_at" name="starts_at" type="datetime-local" required>
<label for="mode">Format</label><select id="mode" name="mode"><option value="face_to_face">Face to face</option><option value="online">Online</option></select>
<label for="place">Place or link</label><input id="place" name="place" required><label for="capacity">Capacity</label><input id="capacity" name="capacity" type="number" min="1" value="20">
<button>Schedule</button></form>
<ul>{% for s in sessions %}<li>{{ s.starts_at.strftime('%d %b %H:%M') }} {{ s.mode }} {{ s.place }}: {{ s.booked }}/{{ s.capacity }}</li>{% endfor %}</ul></section>
<section><h2>Create an event</h2><form method="post" action="/console/events"><input type="hidden" name="csrf" value="{{ csrf }}">
<label for="group">Group</label><input id="group" name="group" value="{{ community_group }}">
<label for="ev_start">Start (UTC)</label><input id="ev_start" name="start" type="datetime-local" required>
<label for="duration_minutes">Duration (minutes)</label><input id="duration_minutes" name="duration_minutes" type="number" value="30" min="30" step="30">
<label for="reduction_kw">Reduction per household (kW)</label><input id="reduction_kw" name="reduction_kw" inputmode="decimal" value="2">
<label for="price">Price (£/MWh)</label><input id="price" name="price_gbp_per_mwh" inputmode="decimal" value="1812">
<button>Create event</button></form></section></div>
<section><h2>Events</h2><div class="table"><table><thead><tr><th scope="col">Event</th><th scope="col">Start (UTC)</th><th scope="col">Status</th><th scope="col"></th></tr></thead><tbody>
{% for e in events %}<tr><td><a href="/console/events/{{ e.event_id }}">{{ e.event_id }}</a></td><td>{{ e.start }}</td><td>{{ e.status }}</td><td></td></tr>{% endfor %}</tbody></table></div></section>
<section><h2>Payments</h2>{{ payments_chart|safe }}<div class="table"><table><thead><tr><th scope="col">Account</th><th scope="col">Balance £</th></tr></thead><tbody>
{% for k, v in balances %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</tbody></table></div></section>
<section><h2>Outbox</h2><p>{{ mail_note }}</p><div class="table"><table><thead><tr><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Send after (UTC)</th><th scope="col">Status</th></tr></thead><tbody>
{% for m in outbox %}<tr><td>{{ m.to_email }}</td><td>{{ m.subject }}</td><td>{{ m.send_after.strftime('%Y-%m-%d %H:%M') }}</td><td>{{ m.status }}{% if m.sent_at %} {{ m.sent_at.strftime('%Y-%m-%d %H:%M') }}{% endif %}{% if m.last_error %}: {{ m.last_error }}{% endif %}</td></tr>{% endfor %}</tbody></table></div></section>{% endblock %}""",
    "console_event.html": """{% extends "base.html" %}{% block body %}<h1>Event {{ event.event_id }}</h1>
<p>{{ event.start }} → {{ event.end }} · {{ event.reduction_kw }} kW per household · £{{ event.price_gbp_per_mwh }}/MWh ·
<strong>{{ event.status }}</strong>{% if refresh %} · this page refreshes every {{ refresh }} s{% endif %}</p>
<section><h2>Delivery</h2>{{ delivery_chart|safe }}<div class="table"><table><thead><tr><th scope="col">Household</th><th scope="col">Answer</th><th scope="col">Latest power kW</th><th scope="col">Delivered kWh</th><th scope="col">Payment £</th></tr></thead><tbody>
{% for t in rows %}<tr><td>{{ t.household_id }}</td><td>{{ t.opt_type or 'no answer' }}{{ ' (customer override)' if t.skipped }}</td><td>{{ t.power_kw }}</td>
<td>{{ '%.3f'|format(t.settlement.delivered_kwh) if t.settlement else '–' }}</td><td>{{ t.settlement.household_gbp if t.settlement else '–' }}</td></tr>{% endfor %}</tbody></table></div>
<p>Totals: {{ event.totals.opted_in }} in, {{ event.totals.opted_out }} out, {{ event.totals.no_response }} no answer; delivered {{ '%.3f'|format(event.totals.delivered_kwh) }} kWh; paid £{{ event.totals.payment_gbp }}</p></section>
<div class="grid">{% if event.status not in ('cancelled', 'completed') %}<form method="post" action="/console/events/{{ event.event_id }}/cancel"><input type="hidden" name="csrf" value="{{ csrf }}"><button class="danger">Cancel event</button></form>{% endif %}
<form method="post" action="/console/events/{{ event.event_id }}/settle"><input type="hidden" name="csrf" value="{{ csrf }}"><button>Run settlement</button></form></div>{% endblock %}""",
    "installer.html": """{% extends "base.html" %}{% block body %}<h1>My jobs</h1>
{% if credentials %}<section class="ok" role="status"><h2>VEN provisioned</h2><p>Configure the household's controller now; the password is not shown again.</p>
<ul>{% for k, v in credentials.items() %}<li>{{ k }}: <code>{{ v }}</code></li>{% endfor %}</ul></section>{% endif %}
<section>{% if jobs %}<div class="table"><table><thead><tr><th scope="col">Household</th><th scope="col">Postcode</th><th scope="col">Plan</th><th scope="col">Visit</th><th scope="col">Step</th><th scope="col"></th></tr></thead><tbody>
{% for c in jobs %}<tr><td>{{ c.household_id }}</td><td>{{ c.postcode }}</td><td>{{ c.data.plan }}</td><td>{{ c.data.visit }}</td><td>{{ titles[c.state.step] }}</td><td>
{% if c.state.step.value == 'assessment_booked' %}<form method="post" action="/installer/jobs/{{ c.household_id }}/installed"><input type="hidden" name="csrf" value="{{ csrf }}">
<button>Record installation</button></form>{% endif %}</td></tr>{% endfor %}</tbody></table></div>{% else %}<p>No jobs.</p>{% endif %}</section>{% endblock %}""",
}


def kwh(value: Any) -> str:
    """Energy as people read it (three decimals); a missing figure stays blank."""
    if isinstance(value, bool) or value is None:
        return ""
    return f"{value:.3f}" if isinstance(value, int | float) else str(value)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"base.html": BASE, "progress.html": PROGRESS, **PAGES}),
        autoescape=True,
    )
    env.filters["kwh"] = kwh
    return env


def render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    defaults = {"refresh": None, "flash": None, "error": None, "account": None, "csrf": ""}
    return env.get_template(name).render({**defaults, **context})
