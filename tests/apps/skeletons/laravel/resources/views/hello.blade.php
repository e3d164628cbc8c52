@extends('layout')
@section('title', 'Hello')
@section('content')
<p class="welcome">Welcome, {{ $name }}!</p>
@endsection
