<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>@yield('title')</title>
<link rel="stylesheet" href="{{ asset('css/app.css') }}">
</head>
<body>
<header class="banner"><h1>@yield('title')</h1><nav><a href="{{ url('/') }}">Home</a> <a href="{{ url('/login') }}">Log in</a></nav></header>
<main>@yield('content')</main>
<footer>Served by lambda-fpm</footer>
</body>
</html>
