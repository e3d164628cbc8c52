@extends('layout')
@section('title', 'Laravel on lambda-fpm')
@section('content')
<p class="lead">A Laravel {{ app()->version() }} application on Debian's php-laravel-framework, run by php-fpm behind the lambda-fpm bootstrap.</p>
<p><img src="{{ asset('logo.svg') }}" alt="logo" width="120" height="120"></p>
@endsection
